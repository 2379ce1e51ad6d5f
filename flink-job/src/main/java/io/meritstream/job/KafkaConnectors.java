package io.meritstream.job;

import io.meritstream.avro.DeadLetter;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.ingest.IngestRecordDeserializer;
import java.nio.ByteBuffer;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.util.function.SerializableFunction;

/** The job's Kafka sources and sinks, built from validated {@link KafkaSettings}. */
public final class KafkaConnectors {
    private KafkaConnectors() {}

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
        return avroSink(
                        settings,
                        settings.dlqTopic(),
                        DeadLetter.class,
                        KafkaConnectors::deadLetterKey,
                        settings.dlqDeliveryGuarantee())
                .build();
    }

    /**
     * A sink of Avro records to {@code topic} in the wire format, with the pass-through client properties and the
     * delivery guarantee; EXACTLY_ONCE gets a transactional id prefix unique to the group and topic.
     */
    public static <T extends SpecificRecord> KafkaSinkBuilder<T> avroSink(
            KafkaSettings settings,
            String topic,
            Class<T> type,
            SerializableFunction<T, byte[]> key,
            DeliveryGuarantee guarantee) {
        Properties producer = settings.clientProperties();
        KafkaSinkBuilder<T> builder = KafkaSink.<T>builder()
                // Pass-through first: setKafkaProducerConfig replaces what was set before it.
                .setKafkaProducerConfig(producer)
                .setBootstrapServers(settings.bootstrapServers())
                .setRecordSerializer(new AvroRecordSerializationSchema<>(topic, type, key))
                .setDeliveryGuarantee(guarantee);
        if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
            builder.setTransactionalIdPrefix(settings.groupId() + "-" + topic);
        }
        return builder;
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
