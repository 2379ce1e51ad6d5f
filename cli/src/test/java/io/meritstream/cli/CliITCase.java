package io.meritstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.cli.audio.WavAudio;
import io.meritstream.cli.kafka.AvroJson;
import io.meritstream.ingest.SampleDecoder;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** replay and collect against a real Kafka broker (no Flink): what replay writes and collect reads back. */
class CliITCase {
    private static EmbeddedKafkaBroker kafka;

    @TempDir
    Path dir;

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafkaBroker.start();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void replaySendsEveryFrameOfEveryChannelKeyedBySessionAndDecodableByTheJob() throws Exception {
        String topic = "frames-" + UUID.randomUUID();
        kafka.createTopics(2, topic);
        Path calls = Files.createDirectories(dir.resolve("calls"));
        float[] agent = tone(8000, 8000 + 37, 300);
        float[] customer = tone(8000, 4000, 500);
        WavAudio.writePcm16(calls.resolve("call-7.agent.wav"), agent, 8000);
        WavAudio.writePcm16(calls.resolve("call-7.customer.wav"), customer, 8000);

        int code = MeritCli.execute(
                "replay",
                calls.toString(),
                "-b",
                kafka.bootstrapServers(),
                "-t",
                topic,
                "--speed",
                "0",
                "--encoding",
                "PCM_MULAW",
                "--session-prefix",
                "run1-");

        assertThat(code).isZero();
        List<ConsumerRecord<byte[], byte[]>> records = readAll(topic, 51 + 25);
        SingleObjectCodec<AudioFrame> codec = SingleObjectCodec.of(AudioFrame.class);
        List<AudioFrame> agentFrames = new ArrayList<>();
        List<AudioFrame> customerFrames = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            AudioFrame frame = codec.decode(record.value());
            assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("run1-call-7");
            assertThat(frame.getSessionId()).isEqualTo("run1-call-7");
            assertThat(frame.getEncoding()).isEqualTo(AudioEncoding.PCM_MULAW);
            assertThat(frame.getSampleRate()).isEqualTo(8000);
            (frame.getChannel().equals("agent") ? agentFrames : customerFrames).add(frame);
        }
        // 8037 samples in 160-sample frames: 50 whole + 37; 4000: exactly 25.
        assertThat(agentFrames).hasSize(51);
        assertThat(customerFrames).hasSize(25);
        for (List<AudioFrame> frames : List.of(agentFrames, customerFrames)) {
            // One key, so one partition: the order of the stream is kept.
            for (int i = 0; i < frames.size(); i++) {
                assertThat(frames.get(i).getSeq()).isEqualTo(i);
                assertThat(frames.get(i).getEndOfStream()).isEqualTo(i == frames.size() - 1);
            }
        }
        assertThat(agentFrames.get(50).getPayload().remaining()).isEqualTo(37);
        float[] decoded = SampleDecoder.decode(
                AudioEncoding.PCM_MULAW, agentFrames.get(10).getPayload());
        for (int i = 0; i < decoded.length; i++) {
            assertThat((double) decoded[i])
                    .isCloseTo(
                            agent[1600 + i],
                            org.assertj.core.data.Offset.offset(Math.abs(agent[1600 + i]) / 30 + 0.001));
        }
    }

    @Test
    void collectWritesCommittedRecordsOnlyAsJsonlAndTheAudioAsWavInSeqOrder() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String enhanced = "enhanced-" + suffix;
        String events = "events-" + suffix;
        kafka.createTopics(2, enhanced, events);
        int hop = 1600;
        List<ProducerRecord<byte[], byte[]>> chunks = new ArrayList<>();
        SingleObjectCodec<EnhancedAudioChunk> chunkCodec = SingleObjectCodec.of(EnhancedAudioChunk.class);
        for (int seq = 0; seq < 6; seq++) {
            chunks.add(record(enhanced, "s1", chunkCodec.encode(chunk(seq, hop, seq == 5))));
        }
        Collections.shuffle(chunks, new Random(11));
        SingleObjectCodec<EmotionEvent> eventCodec = SingleObjectCodec.of(EmotionEvent.class);
        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer()) {
            producer.initTransactions();
            producer.beginTransaction();
            chunks.forEach(producer::send);
            producer.send(record(events, "s1", eventCodec.encode(event(0))));
            producer.commitTransaction();
            // An aborted transaction: read_committed must not see it.
            producer.beginTransaction();
            producer.send(record(events, "s1", eventCodec.encode(event(99))));
            producer.flush();
            producer.abortTransaction();
        }
        Path out = dir.resolve("collected");

        int code = MeritCli.execute(
                "collect",
                "-b",
                kafka.bootstrapServers(),
                "--out",
                out.toString(),
                "--enhanced-topic",
                enhanced,
                "--events-topic",
                events,
                "--trends-topic",
                "trends-" + suffix,
                "--alerts-topic",
                "alerts-" + suffix,
                "--dlq-topic",
                "dlq-" + suffix,
                "--idle-seconds",
                "4",
                "--max-seconds",
                "60");

        assertThat(code).isZero();
        List<EmotionEvent> collected = AvroJson.readLines(out.resolve(events + ".jsonl"), EmotionEvent.class);
        assertThat(collected).extracting(EmotionEvent::getWindowIndex).containsExactly(0L);
        assertThat(collected.get(0)).isEqualTo(event(0));
        WavAudio.Audio audio = WavAudio.read(out.resolve("s1.customer.enhanced.wav"));
        assertThat(audio.frames()).isEqualTo(6 * hop);
        for (int seq = 0; seq < 6; seq++) {
            assertThat(audio.channels()[0][seq * hop + 5]).isEqualTo((seq + 1) * 100 / 32768f);
        }
        assertThat(Files.exists(out.resolve(enhanced + ".jsonl"))).isFalse();
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertThat(MeritCli.execute("replay")).isEqualTo(2);
        assertThat(MeritCli.execute("replay", dir.resolve("missing").toString()))
                .isEqualTo(2);
        assertThat(MeritCli.execute("collect", "--from", "middle")).isEqualTo(2);
        assertThat(MeritCli.execute("no-such-command")).isEqualTo(2);
        assertThat(MeritCli.execute("replay", "--help")).isZero();
    }

    private static float[] tone(int rate, int n, double hz) {
        float[] samples = new float[n];
        for (int i = 0; i < n; i++) {
            samples[i] = (float) (0.4 * Math.sin(2 * Math.PI * hz * i / rate));
        }
        return samples;
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String key, byte[] value) {
        return new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value);
    }

    private static EnhancedAudioChunk chunk(int seq, int hop, boolean end) {
        ByteBuffer pcm = ByteBuffer.allocate(2 * hop).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < hop; i++) {
            pcm.putShort((short) ((seq + 1) * 100));
        }
        pcm.flip();
        return EnhancedAudioChunk.newBuilder()
                .setSessionId("s1")
                .setChannel("customer")
                .setSeq(seq)
                .setStartSample((long) seq * hop)
                .setPayload(pcm)
                .setModelVersion("test")
                .setEndOfStream(end)
                .build();
    }

    private static EmotionEvent event(long window) {
        return EmotionEvent.newBuilder()
                .setSessionId("s1")
                .setChannel("customer")
                .setWindowIndex(window)
                .setWindowStartMs(window * 1000)
                .setWindowEndMs(window * 1000 + 3000)
                .setWindowStartSample(window * 16000)
                .setWindowEndSample(window * 16000 + 48000)
                .setProbabilities(new EmotionProbabilities(0.7f, 0.1f, 0.1f, 0.1f))
                .setLabel(Emotion.ANGRY)
                .setConfidence(0.7f)
                .setSpeechRatio(0.8f)
                .setModelVersion("test")
                .setLatencyMs(5)
                .build();
    }

    private static KafkaProducer<byte[], byte[]> transactionalProducer() {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "cli-it-" + UUID.randomUUID());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return new KafkaProducer<>(props);
    }

    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int atLeast) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "cli-it-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (records.size() < atLeast && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
            }
            // Anything beyond the expected count would be a duplicate.
            consumer.poll(Duration.ofSeconds(1)).forEach(records::add);
        }
        return records;
    }
}
