package io.meritstream.schemas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * The schemas as the project publishes them for consumers in any language: one self-contained file per record (every
 * named type written out in full where it is first used, as Avro's own JSON form does) and language-neutral (without
 * {@code avro.java.string}, the Java code generator's hint that strings are {@link String}). The committed {@code
 * schema-history/<Record>.v<N>.avsc} files are in this form.
 *
 * <p>Why the Java property must go: Avro's specification strips it from the parsing canonical form, but python3-avro
 * keeps it, so a Python producer using a schema that carries it gets another CRC-64-AVRO fingerprint (AudioFrame: {@code
 * a5ea0f32258610c6} instead of {@code e541211b59ab277c}) and every frame is dead-lettered as an unknown writer schema.
 *
 * <p>{@code java -cp <schemas jar + avro> io.meritstream.schemas.PublishedSchemas DIR} writes the current form of every
 * record to {@code DIR/<Record>.avsc}; the schemas module's tests write them to {@code target/published-schemas/} and
 * fail when the newest committed version differs.
 */
public final class PublishedSchemas {
    /** Every record on a topic, input first. */
    public static final List<Class<? extends SpecificRecord>> RECORDS = List.of(
            AudioFrame.class,
            EnhancedAudioChunk.class,
            EmotionEvent.class,
            EmotionTrend.class,
            EmotionAlert.class,
            CallSummary.class,
            DeadLetter.class);

    /** The property Avro's Java code generator adds to string types; meaningless to every other language. */
    static final String JAVA_STRING_PROPERTY = "avro.java.string";

    private static final ObjectMapper JSON = new ObjectMapper();

    private PublishedSchemas() {}

    /** The published text of {@code schema}: pretty-printed JSON, self-contained, without Java-only properties. */
    public static String json(Schema schema) {
        try {
            JsonNode tree = JSON.readTree(schema.toString());
            stripJavaProperties(tree);
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Avro wrote unreadable JSON for " + schema.getFullName(), e);
        }
    }

    /** The published text of a generated record class's current schema. */
    public static String json(Class<? extends SpecificRecord> type) {
        return json(SpecificData.get().getSchema(type));
    }

    private static void stripJavaProperties(JsonNode node) {
        if (node instanceof ObjectNode object) {
            object.remove(JAVA_STRING_PROPERTY);
            for (Iterator<JsonNode> it = object.elements(); it.hasNext(); ) {
                stripJavaProperties(it.next());
            }
        } else if (node instanceof ArrayNode array) {
            array.forEach(PublishedSchemas::stripJavaProperties);
        }
    }

    /** Writes {@code DIR/<Record>.avsc} for every record (DIR: the first argument). */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: PublishedSchemas DIR");
            System.exit(2);
        }
        Path dir = Files.createDirectories(Path.of(args[0]));
        for (Class<? extends SpecificRecord> type : RECORDS) {
            Path file = dir.resolve(type.getSimpleName() + ".avsc");
            Files.writeString(file, json(type), StandardCharsets.UTF_8);
            System.out.println(file);
        }
    }
}
