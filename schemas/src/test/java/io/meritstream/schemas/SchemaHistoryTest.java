package io.meritstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every released version of every record is committed under {@code schema-history/}. The current reader must read
 * all of them, and the newest committed version must be the current schema, so that a schema change cannot land
 * without its own history entry (copy the new schema to {@code <Record>.v<N+1>.avsc}).
 */
class SchemaHistoryTest {

    @ParameterizedTest
    @ValueSource(
            classes = {
                AudioFrame.class,
                EnhancedAudioChunk.class,
                EmotionEvent.class,
                EmotionTrend.class,
                EmotionAlert.class,
                DeadLetter.class
            })
    void currentReaderReadsEveryCommittedVersion(Class<?> type) {
        Schema current = SpecificData.get().getSchema(type);
        List<Schema> history = SingleObjectCodec.SchemaHistory.versionsOf(current.getName());

        assertThat(history).as("committed versions of %s", current.getName()).isNotEmpty();
        for (Schema writer : history) {
            SchemaCompatibility.SchemaPairCompatibility result =
                    SchemaCompatibility.checkReaderWriterCompatibility(current, writer);
            assertThat(result.getType())
                    .as("%s reading data written with an older version: %s", current.getName(), result.getDescription())
                    .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
        }
        assertThat(history.get(history.size() - 1))
                .as("newest committed version of %s equals the current schema", current.getName())
                .isEqualTo(current);
    }
}
