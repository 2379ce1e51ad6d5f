package io.meritstream.ingest;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The input topic's deserializer. It cannot fail on any bytes: it only wraps the record with its coordinates, and
 * {@link FrameDecoder} does the Avro decoding, where a {@code SchemaDecodingException} becomes an {@code UNDECODABLE}
 * dead letter instead of a failed job (a deserializer that throws would restart the job forever on one poisoned
 * record).
 */
public class IngestRecordDeserializer implements KafkaRecordDeserializationSchema<IngestRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<IngestRecord> out) {
        out.collect(new IngestRecord(
                record.topic(),
                record.partition(),
                record.offset(),
                record.key(),
                record.value(),
                record.timestamp(),
                System.currentTimeMillis()));
    }

    @Override
    public TypeInformation<IngestRecord> getProducedType() {
        return TypeInformation.of(IngestRecord.class);
    }
}
