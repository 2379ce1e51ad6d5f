package io.meritstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every released version of every record is committed under {@code schema-history/}, in the published form ({@link
 * PublishedSchemas}: self-contained, language-neutral). The current reader must read all of them, and the newest
 * committed version must be exactly the published text of the current schema, so that a schema change cannot land
 * without its own history entry: the test writes the current text to {@code target/published-schemas/<Record>.avsc};
 * copy it to {@code schema-history/<Record>.v<N+1>.avsc} and add its fingerprint to the README's table.
 */
class SchemaHistoryTest {
    private static final Path HISTORY = Path.of("src/main/resources/schema-history");
    private static final Path WRITTEN = Path.of("target/published-schemas");
    private static final Path README = Path.of("../README.md");

    static List<Class<? extends SpecificRecord>> records() {
        return PublishedSchemas.RECORDS;
    }

    @ParameterizedTest
    @MethodSource("records")
    void currentReaderReadsEveryCommittedVersion(Class<? extends SpecificRecord> type) throws IOException {
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
        String published = PublishedSchemas.json(type);
        Files.createDirectories(WRITTEN);
        Files.writeString(WRITTEN.resolve(current.getName() + ".avsc"), published, StandardCharsets.UTF_8);
        Path newest = HISTORY.resolve(current.getName() + ".v" + history.size() + ".avsc");
        assertThat(Files.readString(newest, StandardCharsets.UTF_8))
                .as(
                        "%s is the published form of the current %s schema; if the schema changed, copy %s to %s.v%d.avsc",
                        newest,
                        current.getName(),
                        WRITTEN.resolve(current.getName() + ".avsc"),
                        current.getName(),
                        history.size() + 1)
                .isEqualTo(published);
    }

    @ParameterizedTest
    @MethodSource("records")
    void everyCommittedVersionIsSelfContainedAndLanguageNeutral(Class<? extends SpecificRecord> type)
            throws IOException {
        String name = type.getSimpleName();
        for (int version = 1; Files.exists(HISTORY.resolve(name + ".v" + version + ".avsc")); version++) {
            String text = Files.readString(HISTORY.resolve(name + ".v" + version + ".avsc"), StandardCharsets.UTF_8);
            assertThat(text).as("%s v%d", name, version).doesNotContain(PublishedSchemas.JAVA_STRING_PROPERTY);
            // a fresh parser knows no other type: the file must define every named type it uses
            Schema alone = new Schema.Parser().parse(text);
            assertThat(alone.getFullName())
                    .isEqualTo(SpecificData.get().getSchema(type).getFullName());
        }
    }

    @ParameterizedTest
    @MethodSource("records")
    void theReadmeListsTheFingerprintOfEveryVersion(Class<? extends SpecificRecord> type) throws IOException {
        String readme = Files.readString(README, StandardCharsets.UTF_8);
        String name = type.getSimpleName();
        List<Schema> history = SingleObjectCodec.SchemaHistory.versionsOf(name);
        for (int version = 1; version <= history.size(); version++) {
            String row = "| " + name + " | v" + version + " | `"
                    + SingleObjectCodec.fingerprintHex(history.get(version - 1)) + "` |";
            assertThat(readme).as("README row for %s v%d", name, version).contains(row);
        }
    }
}
