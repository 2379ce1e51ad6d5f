package io.meritstream.evaluation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An evaluation manifest: JSON lines {@code {"noisy": path, "clean": path?, "emotion": label?, "snr_db": x?, "noise":
 * name?, "noise_seen": bool?, "speaker": id?, "utt": id?}}, paths relative to the manifest's directory (other keys, such
 * as the generated corpus's text, are ignored). {@code speaker} and {@code utt} let the speaker-reference evaluation
 * draw a reference from the speaker's other utterances. Blank lines are skipped.
 */
public final class Manifest {
    private Manifest() {}

    /** One line of the manifest, paths resolved. */
    public record Entry(
            int line,
            String id,
            Path noisy,
            Path clean,
            String emotion,
            Double snrDb,
            String noise,
            Boolean noiseSeen,
            String speaker,
            String utterance) {}

    /**
     * @throws IllegalArgumentException naming the file and line for malformed JSON, a missing or non-text "noisy", or
     *     fields of the wrong type
     */
    public static List<Entry> read(Path manifest) throws IOException {
        Path base = manifest.toAbsolutePath().getParent();
        ObjectMapper json = new ObjectMapper();
        List<Entry> entries = new ArrayList<>();
        List<String> lines = Files.readAllLines(manifest, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i).strip();
            if (text.isEmpty()) {
                continue;
            }
            int line = i + 1;
            JsonNode node;
            try {
                node = json.readTree(text);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw bad(manifest, line, "not JSON: " + e.getOriginalMessage());
            }
            if (node == null || !node.isObject()) {
                throw bad(manifest, line, "not a JSON object");
            }
            String noisy = text(node, "noisy", manifest, line);
            if (noisy == null) {
                throw bad(manifest, line, "no \"noisy\" path");
            }
            String clean = text(node, "clean", manifest, line);
            Double snr = null;
            JsonNode s = node.get("snr_db");
            if (s != null && !s.isNull()) {
                if (!s.isNumber()) {
                    throw bad(manifest, line, "\"snr_db\" must be a number, got " + s);
                }
                snr = s.asDouble();
            }
            Boolean seen = null;
            JsonNode ns = node.get("noise_seen");
            if (ns != null && !ns.isNull()) {
                if (!ns.isBoolean()) {
                    throw bad(manifest, line, "\"noise_seen\" must be true or false, got " + ns);
                }
                seen = ns.asBoolean();
            }
            entries.add(new Entry(
                    line,
                    noisy,
                    base.resolve(noisy).normalize(),
                    clean == null ? null : base.resolve(clean).normalize(),
                    text(node, "emotion", manifest, line),
                    snr,
                    text(node, "noise", manifest, line),
                    seen,
                    text(node, "speaker", manifest, line),
                    text(node, "utt", manifest, line)));
        }
        return entries;
    }

    private static String text(JsonNode node, String key, Path manifest, int line) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw bad(manifest, line, "\"" + key + "\" must be a string, got " + v);
        }
        return v.asText();
    }

    private static IllegalArgumentException bad(Path manifest, int line, String why) {
        return new IllegalArgumentException(manifest + " line " + line + ": " + why);
    }
}
