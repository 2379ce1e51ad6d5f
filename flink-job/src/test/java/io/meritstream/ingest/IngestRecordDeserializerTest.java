package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class IngestRecordDeserializerTest {

    @Test
    void wrapsAnyBytesWithTheirCoordinatesAndNeverThrows() {
        IngestRecordDeserializer deserializer = new IngestRecordDeserializer();
        List<IngestRecord> out = new ArrayList<>();
        Collector<IngestRecord> collector = new Collector<>() {
            @Override
            public void collect(IngestRecord record) {
                out.add(record);
            }

            @Override
            public void close() {}
        };
        byte[] garbage = {0, 1, 2, (byte) 0xFF};
        long before = System.currentTimeMillis();
        deserializer.deserialize(record("t", 2, 40, new byte[] {7}, garbage), collector);
        deserializer.deserialize(record("t", 2, 41, null, null), collector); // tombstone without key

        assertThat(out).hasSize(2);
        IngestRecord first = out.get(0);
        assertThat(first.topic).isEqualTo("t");
        assertThat(first.partition).isEqualTo(2);
        assertThat(first.offset).isEqualTo(40);
        assertThat(first.key).containsExactly(7);
        assertThat(first.value).isSameAs(garbage);
        assertThat(first.kafkaTimestampMs).isEqualTo(1234);
        assertThat(first.arrivalMs).isBetween(before, System.currentTimeMillis());
        assertThat(out.get(1).value).isNull();
        assertThat(out.get(1).key).isNull();
        assertThat(deserializer.getProducedType()).isInstanceOf(PojoTypeInfo.class);
    }

    private static ConsumerRecord<byte[], byte[]> record(
            String topic, int partition, long offset, byte[] key, byte[] value) {
        return new ConsumerRecord<>(
                topic,
                partition,
                offset,
                1234L,
                TimestampType.CREATE_TIME,
                key == null ? -1 : key.length,
                value == null ? -1 : value.length,
                key,
                value,
                new RecordHeaders(),
                Optional.empty());
    }
}
