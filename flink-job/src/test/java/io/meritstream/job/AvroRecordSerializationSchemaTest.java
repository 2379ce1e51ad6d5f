package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.ingest.FrameDecoder;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class AvroRecordSerializationSchemaTest {

    @Test
    void writesSingleObjectEncodingWithTheKeyAndSurvivesJavaSerialization() throws Exception {
        IngestRecord rejected = new IngestRecord(
                "audio-frames", 1, 99, "call-7".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3}, 0, 0);
        DeadLetter letter = FrameDecoder.deadLetter(rejected, DeadLetterReason.UNDECODABLE, "bad", 1024, 123L);
        AvroRecordSerializationSchema<DeadLetter> schema = new AvroRecordSerializationSchema<>(
                "audio-dlq", DeadLetter.class, l -> ("k-" + l.getOffset()).getBytes(StandardCharsets.UTF_8));
        // Flink ships the schema to the TaskManagers by Java serialization; the codec is rebuilt there.
        AvroRecordSerializationSchema<DeadLetter> shipped =
                InstantiationUtil.clone(schema, getClass().getClassLoader());

        ProducerRecord<byte[], byte[]> record = shipped.serialize(letter, null, 456L);
        assertThat(record.topic()).isEqualTo("audio-dlq");
        assertThat(record.timestamp()).isEqualTo(456L);
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("k-99");
        assertThat(record.value()[0]).isEqualTo((byte) 0xC3);
        assertThat(record.value()[1]).isEqualTo((byte) 0x01);
        assertThat(SingleObjectCodec.of(DeadLetter.class).decode(record.value()))
                .isEqualTo(letter);
    }

    @Test
    void nullKeyMeansNoKey() {
        AvroRecordSerializationSchema<DeadLetter> schema =
                new AvroRecordSerializationSchema<>("t", DeadLetter.class, l -> null);
        DeadLetter letter = FrameDecoder.deadLetter(
                new IngestRecord("in", 0, 0, null, null, 0, 0), DeadLetterReason.UNDECODABLE, "x", 10, 1L);
        assertThat(schema.serialize(letter, null, null).key()).isNull();
    }
}
