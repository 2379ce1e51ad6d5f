package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.ingest.FrameDecoder;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class RecordSerializationSchemaTest {

    @Test
    void writesSingleObjectEncodingWithTheKeyAndSurvivesJavaSerialization() throws Exception {
        IngestRecord rejected = new IngestRecord(
                "audio-frames", 1, 99, "call-7".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3}, 0, 0);
        DeadLetter letter = FrameDecoder.deadLetter(rejected, DeadLetterReason.UNDECODABLE, "bad", 1024, 123L);
        RecordSerializationSchema<DeadLetter> schema = new RecordSerializationSchema<>(
                "audio-dlq",
                DeadLetter.class,
                l -> ("k-" + l.getOffset()).getBytes(StandardCharsets.UTF_8),
                RecordIds::of,
                ValueFormat.AVRO);
        // Flink ships the schema to the TaskManagers by Java serialization; the codec is rebuilt there.
        RecordSerializationSchema<DeadLetter> shipped =
                InstantiationUtil.clone(schema, getClass().getClassLoader());

        ProducerRecord<byte[], byte[]> record = shipped.serialize(letter, null, 456L);
        assertThat(record.topic()).isEqualTo("audio-dlq");
        // The input's timestamp (456) is not copied: the producer stamps the output when it sends it.
        assertThat(record.timestamp()).isNull();
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("k-99");
        assertThat(record.value()[0]).isEqualTo((byte) 0xC3);
        assertThat(record.value()[1]).isEqualTo((byte) 0x01);
        assertThat(SingleObjectCodec.of(DeadLetter.class).decode(record.value()))
                .isEqualTo(letter);
        assertThat(record.headers().toArray()).hasSize(1);
        assertThat(new String(record.headers().lastHeader(RecordIds.HEADER).value(), StandardCharsets.UTF_8))
                .isEqualTo("dead-letter/UNDECODABLE/1/99/audio-frames");
    }

    @Test
    void nullKeyMeansNoKey() {
        RecordSerializationSchema<DeadLetter> schema =
                new RecordSerializationSchema<>("t", DeadLetter.class, l -> null, RecordIds::of, ValueFormat.AVRO);
        DeadLetter letter = FrameDecoder.deadLetter(
                new IngestRecord("in", 0, 0, null, null, 0, 0), DeadLetterReason.UNDECODABLE, "x", 10, 1L);
        assertThat(schema.serialize(letter, null, null).key()).isNull();
    }

    @Test
    void jsonFormatWritesPlainJsonWithTheFieldNames() throws Exception {
        IngestRecord rejected = new IngestRecord(
                "audio-frames", 1, 99, "call-7".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3}, 0, 0);
        DeadLetter letter = FrameDecoder.deadLetter(rejected, DeadLetterReason.UNDECODABLE, "bad", 1024, 123L);
        RecordSerializationSchema<DeadLetter> schema = InstantiationUtil.clone(
                new RecordSerializationSchema<>(
                        "audio-dlq", DeadLetter.class, l -> null, RecordIds::of, ValueFormat.JSON),
                getClass().getClassLoader());

        JsonNode json =
                new ObjectMapper().readTree(schema.serialize(letter, null, 1L).value());
        assertThat(json.get("reason").asText()).isEqualTo("UNDECODABLE");
        assertThat(Base64.getDecoder().decode(json.get("original").asText())).containsExactly(1, 2, 3);
        assertThat(json.get("offset").asLong()).isEqualTo(99);
        assertThat(Base64.getDecoder().decode(json.get("key").asText()))
                .isEqualTo("call-7".getBytes(StandardCharsets.UTF_8));
    }
}
