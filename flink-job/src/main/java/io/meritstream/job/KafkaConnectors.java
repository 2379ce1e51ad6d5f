package io.meritstream.job;

import io.meritstream.avro.CallSummary;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.ingest.IngestRecordDeserializer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerConfig;

/** The job's Kafka sources and sinks, built from validated {@link KafkaSettings}. */
public final class KafkaConnectors {
    private KafkaConnectors() {}

    /**
     * Transaction timeout of the exactly-once producers unless {@code kafka.properties.transaction.timeout.ms} says
     * otherwise: 15 minutes, the largest a Kafka broker accepts by default ({@code transaction.max.timeout.ms}).
     * Flink's KafkaSink would otherwise ask for 1 hour, which a default broker refuses. A transaction stays open from
     * one checkpoint to the next (plus a restart), so this must exceed the checkpoint interval by far.
     */
    public static final String DEFAULT_TRANSACTION_TIMEOUT_MS = "900000";

    /**
     * The input topic's source, not yet built so that callers can add to it (tests: {@code
     * setBounded(OffsetsInitializer.latest())}). Its records are never decoded here; see {@link IngestRecordDeserializer}.
     */
    public static KafkaSourceBuilder<IngestRecord> audioFrameSource(KafkaSettings settings) {
        return KafkaSource.<IngestRecord>builder()
                // Pass-through first, so that the typed options below win where both are set.
                .setProperties(settings.clientProperties())
                .setBootstrapServers(settings.bootstrapServers())
                .setTopics(settings.inputTopic())
                .setGroupId(settings.groupId())
                .setClientIdPrefix(settings.groupId() + "-" + settings.inputTopic())
                .setStartingOffsets(settings.startingOffsets())
                .setDeserializer(new IngestRecordDeserializer());
    }

    /** The dead-letter topic's sink; the key is the rejected record's key, as the README specifies. */
    public static KafkaSink<DeadLetter> deadLetterSink(KafkaSettings settings) {
        return recordSink(
                        settings,
                        settings.dlqTopic(),
                        DeadLetter.class,
                        KafkaConnectors::deadLetterKey,
                        RecordIds::of,
                        settings.dlqDelivery())
                .build();
    }

    /** The enhanced-audio topic's sink (key = session id). */
    public static KafkaSink<EnhancedAudioChunk> enhancedAudioSink(KafkaSettings settings) {
        return recordSink(
                        settings,
                        settings.enhancedAudioTopic(),
                        EnhancedAudioChunk.class,
                        c -> sessionKey(c.getSessionId()),
                        RecordIds::of,
                        settings.enhancedAudioDelivery())
                .build();
    }

    /** The emotion-events topic's sink (key = session id). */
    public static KafkaSink<EmotionEvent> emotionEventsSink(KafkaSettings settings) {
        return recordSink(
                        settings,
                        settings.emotionEventsTopic(),
                        EmotionEvent.class,
                        e -> sessionKey(e.getSessionId()),
                        RecordIds::of,
                        settings.emotionEventsDelivery())
                .build();
    }

    /** The emotion-trends topic's sink (key = session id). */
    public static KafkaSink<EmotionTrend> emotionTrendsSink(KafkaSettings settings) {
        return recordSink(
                        settings,
                        settings.emotionTrendsTopic(),
                        EmotionTrend.class,
                        t -> sessionKey(t.getSessionId()),
                        RecordIds::of,
                        settings.emotionTrendsDelivery())
                .build();
    }

    /** The emotion-alerts topic's sink (key = session id). */
    public static KafkaSink<EmotionAlert> emotionAlertsSink(KafkaSettings settings) {
        return recordSink(
                        settings,
                        settings.emotionAlertsTopic(),
                        EmotionAlert.class,
                        a -> sessionKey(a.getSessionId()),
                        RecordIds::of,
                        settings.emotionAlertsDelivery())
                .build();
    }

    /** The call-summaries topic's sink (key = session id). */
    public static KafkaSink<CallSummary> callSummariesSink(KafkaSettings settings) {
        return recordSink(
                        settings,
                        settings.callSummariesTopic(),
                        CallSummary.class,
                        s -> sessionKey(s.getSessionId()),
                        RecordIds::of,
                        settings.callSummariesDelivery())
                .build();
    }

    /**
     * A sink of Avro records to {@code topic} in the configured value format, each with its {@link RecordIds#HEADER}
     * header, with the pass-through client properties and the delivery guarantee; EXACTLY_ONCE gets the transactional id prefix {@code <kafka.transactional-id-prefix>-<topic>}
     * (unique per sink, stable across restarts) and, unless passed through, a transaction timeout of {@link
     * #DEFAULT_TRANSACTION_TIMEOUT_MS}.
     */
    public static <T extends SpecificRecord> KafkaSinkBuilder<T> recordSink(
            KafkaSettings settings,
            String topic,
            Class<T> type,
            SerializableFunction<T, byte[]> key,
            SerializableFunction<T, String> recordId,
            DeliveryGuarantee guarantee) {
        Properties producer = settings.clientProperties();
        if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
            producer.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, DEFAULT_TRANSACTION_TIMEOUT_MS);
        }
        KafkaSinkBuilder<T> builder = KafkaSink.<T>builder()
                // Pass-through first: setKafkaProducerConfig replaces what was set before it.
                .setKafkaProducerConfig(producer)
                .setBootstrapServers(settings.bootstrapServers())
                .setRecordSerializer(
                        new RecordSerializationSchema<>(topic, type, key, recordId, settings.valueFormat()))
                .setDeliveryGuarantee(guarantee);
        if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
            builder.setTransactionalIdPrefix(settings.transactionalIdPrefix() + "-" + topic);
        }
        return builder;
    }

    /** Output records are keyed by their session, like the input: one session's records stay in one partition. */
    static byte[] sessionKey(CharSequence sessionId) {
        return sessionId.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] deadLetterKey(DeadLetter letter) {
        ByteBuffer key = letter.getKey();
        if (key == null) {
            return null;
        }
        byte[] bytes = new byte[key.remaining()];
        key.duplicate().get(bytes);
        return bytes;
    }
}
