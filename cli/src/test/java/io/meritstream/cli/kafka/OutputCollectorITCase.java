package io.meritstream.cli.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.cli.TestRecords;
import io.meritstream.job.RecordIds;
import io.meritstream.job.RecordSerializationSchema;
import io.meritstream.job.ValueFormat;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The collector against a real broker: what an at-least-once sink repeats after a restart is handled once. */
class OutputCollectorITCase {
    private static EmbeddedKafkaBroker kafka;

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafkaBroker.start();
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void recordsWithARecordIdSeenBeforeAreDroppedAndCounted(@TempDir Path out) throws Exception {
        OutputTopics topics =
                new OutputTopics("oc-audio", "oc-events", "oc-trends", "oc-alerts", "oc-dlq", "oc-summaries");
        kafka.createTopics(topics.all().toArray(String[]::new));
        // The job's own serializer, so that the header is the one the job writes. Windows 0, 1, 2, then 1 and 2 again
        // as after a restart from a checkpoint taken after window 0, then window 3.
        RecordSerializationSchema<EmotionEvent> serializer = new RecordSerializationSchema<>(
                topics.events(),
                EmotionEvent.class,
                e -> e.getSessionId().toString().getBytes(StandardCharsets.UTF_8),
                RecordIds::of,
                ValueFormat.AVRO);
        Properties p = kafka.clientProperties();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (long window : new long[] {0, 1, 2, 1, 2, 3}) {
                producer.send(serializer.serialize(event("call-1", window), null, null));
            }
            // Another channel's window 1 is not a repeat.
            producer.send(serializer.serialize(event("call-2", 1), null, null));
        }

        List<Long> seen = new ArrayList<>();
        try (OutputCollector collector = new OutputCollector(
                kafka.clientProperties(),
                topics,
                Map.of(topics.events(), out.resolve("events.jsonl")),
                true,
                new OutputCollector.Listener() {
                    @Override
                    public void onEvent(EmotionEvent event) {
                        seen.add(event.getWindowIndex());
                    }
                })) {
            collector.run(Duration.ofSeconds(3), Duration.ofSeconds(60), () -> false);
            assertThat(collector.repeats()).isEqualTo(2);
            assertThat(collector.counts()).containsEntry(topics.events(), 5L);
        }
        assertThat(seen).containsExactlyInAnyOrder(0L, 1L, 2L, 3L, 1L);
        assertThat(Files.readAllLines(out.resolve("events.jsonl"))).hasSize(5);
    }

    @Test
    void callSummariesGoToTheirJsonlAndTheListener(@TempDir Path out) throws Exception {
        OutputTopics topics =
                new OutputTopics("oc2-audio", "oc2-events", "oc2-trends", "oc2-alerts", "oc2-dlq", "oc2-summaries");
        kafka.createTopics(topics.all().toArray(String[]::new));
        SingleObjectCodec<CallSummary> codec = SingleObjectCodec.of(CallSummary.class);
        Properties p = kafka.clientProperties();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (CallSummary summary : List.of(
                    TestRecords.summary("call-1", CallSummaryKind.PROGRESS, 5_000),
                    TestRecords.summary("call-1", CallSummaryKind.FINAL, 40_000))) {
                producer.send(new ProducerRecord<>(
                        topics.summaries(), "call-1".getBytes(StandardCharsets.UTF_8), codec.encode(summary)));
            }
        }
        List<CallSummaryKind> seen = new ArrayList<>();
        try (OutputCollector collector = new OutputCollector(
                kafka.clientProperties(),
                topics,
                Map.of(topics.summaries(), out.resolve("summaries.jsonl")),
                true,
                new OutputCollector.Listener() {
                    @Override
                    public void onSummary(CallSummary summary) {
                        seen.add(summary.getKind());
                    }
                })) {
            collector.run(Duration.ofSeconds(3), Duration.ofSeconds(60), () -> false);
            assertThat(collector.counts()).containsEntry(topics.summaries(), 2L);
        }
        assertThat(seen).containsExactly(CallSummaryKind.PROGRESS, CallSummaryKind.FINAL);
        assertThat(AvroJson.readLines(out.resolve("summaries.jsonl"), CallSummary.class))
                .containsExactly(
                        TestRecords.summary("call-1", CallSummaryKind.PROGRESS, 5_000),
                        TestRecords.summary("call-1", CallSummaryKind.FINAL, 40_000));
    }

    private static EmotionEvent event(String session, long window) {
        return EmotionEvent.newBuilder()
                .setSessionId(session)
                .setChannel("customer")
                .setWindowIndex(window)
                .setWindowStartMs(window * 1000)
                .setWindowEndMs(window * 1000 + 3000)
                .setWindowStartSample(window * 16_000)
                .setWindowEndSample(window * 16_000 + 48_000)
                .setProbabilities(new EmotionProbabilities(0.7f, 0.1f, 0.1f, 0.1f))
                .setLabel(Emotion.ANGRY)
                .setConfidence(0.7f)
                .setSpeechRatio(0.9f)
                .setModelVersion("test")
                .setLatencyMs(30)
                .build();
    }
}
