package io.meritstream.job;

import io.meritstream.schemas.RecordJson;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes Avro specific records to one topic in the configured value format (single-object encoding through {@link
 * SingleObjectCodec}, or {@link RecordJson}), with the Kafka key and the {@link RecordIds#HEADER} header taken from the record. One class for every output
 * topic: dead letters, enhanced audio, emotion events, trends and alerts.
 */
public final class RecordSerializationSchema<T extends SpecificRecord> implements KafkaRecordSerializationSchema<T> {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final Class<T> type;
    private final SerializableFunction<T, byte[]> key;
    private final SerializableFunction<T, String> recordId;
    private final ValueFormat format;

    private transient SingleObjectCodec<T> codec;

    /**
     * @param topic the topic every record goes to
     * @param type the record's generated class
     * @param key the Kafka key of a record (may return null for no key); e.g. the session id's UTF-8 bytes
     * @param recordId the record's {@link RecordIds#HEADER} header: the same each time the job writes the record
     * @param format how the value is written
     */
    public RecordSerializationSchema(
            String topic,
            Class<T> type,
            SerializableFunction<T, byte[]> key,
            SerializableFunction<T, String> recordId,
            ValueFormat format) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.type = Objects.requireNonNull(type, "type");
        this.key = Objects.requireNonNull(key, "key");
        this.recordId = Objects.requireNonNull(recordId, "recordId");
        this.format = Objects.requireNonNull(format, "format");
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
        codec = SingleObjectCodec.of(type);
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        Headers headers = new RecordHeaders()
                .add(RecordIds.HEADER, recordId.apply(element).getBytes(StandardCharsets.UTF_8));
        // No timestamp: the producer stamps the record when it sends it. Passing Flink's element timestamp on would
        // copy
        // the input record's CreateTime, so the outputs of a backfill (hours-old input) would fall out of the output
        // topics' retention as soon as they were written. The call's own timeline is in the record's fields.
        return new ProducerRecord<>(topic, null, null, key.apply(element), value(element), headers);
    }

    private byte[] value(T element) {
        if (format == ValueFormat.JSON) {
            return RecordJson.encode(element);
        }
        if (codec == null) {
            codec = SingleObjectCodec.of(type); // used without open(), e.g. directly in a test
        }
        return codec.encode(element);
    }

    public String topic() {
        return topic;
    }
}
