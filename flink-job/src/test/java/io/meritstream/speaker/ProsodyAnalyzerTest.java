package io.meritstream.speaker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Java against {@code model/merit/speaker_reference.py} on the committed fixture ({@code fixtures/prosody}, written by
 * {@code merit.fixtures}): the features the model was trained on and the running reference must be the same numbers.
 */
class ProsodyAnalyzerTest {
    private static final double FEATURE_TOLERANCE = 1e-6;

    private static Path dir;
    private static JsonNode index;

    @BeforeAll
    static void load() throws Exception {
        dir = Path.of(ProsodyAnalyzerTest.class
                        .getResource("/fixtures/prosody/prosody.json")
                        .toURI())
                .getParent();
        index = new ObjectMapper().readTree(dir.resolve("prosody.json").toFile());
    }

    static float[] signal(JsonNode c) throws Exception {
        ByteBuffer bytes = ByteBuffer.wrap(
                        Files.readAllBytes(dir.resolve(c.get("file").asText())))
                .order(ByteOrder.LITTLE_ENDIAN);
        float[] x = new float[c.get("samples").asInt()];
        bytes.asFloatBuffer().get(x);
        return x;
    }

    @Test
    void featureNamesAreThePythonOnes() {
        List<String> names = new ArrayList<>();
        index.get("features").forEach(n -> names.add(n.asText()));
        assertThat(ProsodyAnalyzer.FEATURE_NAMES).isEqualTo(names);
    }

    @Test
    void featuresMatchPythonOnEverySignal() throws Exception {
        ProsodyAnalyzer analyzer = new ProsodyAnalyzer();
        assertThat(index.get("cases")).hasSizeGreaterThanOrEqualTo(5);
        for (JsonNode c : index.get("cases")) {
            String name = c.get("name").asText();
            float[] x = signal(c);
            Prosody p = analyzer.analyze(x, x.length);
            assertThat(p.activeFrames())
                    .as(name + " active")
                    .isEqualTo(c.get("active_frames").asInt());
            assertThat(p.voicedFrames())
                    .as(name + " voiced")
                    .isEqualTo(c.get("voiced_frames").asInt());
            for (int i = 0; i < ProsodyAnalyzer.FEATURES; i++) {
                assertThat(p.features()[i])
                        .as(name + " " + ProsodyAnalyzer.FEATURE_NAMES.get(i))
                        .isCloseTo(c.get("features").get(i).asDouble(), within(FEATURE_TOLERANCE));
            }
        }
    }

    @Test
    void theRunningReferenceMatchesPythonAfterEverySegment() throws Exception {
        ProsodyAnalyzer analyzer = new ProsodyAnalyzer();
        SpeakerReference reference = new SpeakerReference();
        double decay = Math.pow(
                0.5,
                index.get("segment_s").asDouble() / index.get("half_life_s").asDouble());
        for (JsonNode c : index.get("cases")) {
            float[] x = signal(c);
            reference.update(analyzer.analyze(x, x.length), decay);
            JsonNode expected = c.get("reference_after");
            assertThat(reference.weight).isCloseTo(expected.get("weight").asDouble(), within(1e-9));
            float[] row = reference.modelInput();
            for (int i = 0; i < row.length; i++) {
                assertThat((double) row[i])
                        .as(c.get("name").asText() + " speaker_ref[" + i + "]")
                        .isCloseTo(expected.get("speaker_ref").get(i).asDouble(), within(1e-4));
            }
        }
    }

    @Test
    void onlyStretchesWithEnoughSpeechMayEnterAReference() throws Exception {
        ProsodyAnalyzer analyzer = new ProsodyAnalyzer();
        for (JsonNode c : index.get("cases")) {
            float[] x = signal(c);
            Prosody p = analyzer.analyze(x, x.length);
            assertThat(p.enoughSpeech())
                    .as(c.get("name").asText())
                    .isEqualTo(c.get("enough_speech").asBoolean());
        }
        Prosody silence = analyzer.analyze(new float[48_000], 48_000);
        assertThat(silence.activeFrames()).isZero();
        assertThat(silence.features()).containsOnly(0.0);
        assertThat(analyzer.analyze(new float[300], 300).activeFrames()).isZero();
    }

    @Test
    void analysesOnlyTheValidPrefix() throws Exception {
        JsonNode c = index.get("cases").get(0);
        float[] x = signal(c);
        float[] padded = java.util.Arrays.copyOf(x, x.length + 16_000);
        java.util.Arrays.fill(padded, x.length, padded.length, 0.5f);
        ProsodyAnalyzer analyzer = new ProsodyAnalyzer();
        assertThat(analyzer.analyze(padded, x.length).features())
                .containsExactly(analyzer.analyze(x, x.length).features());
    }
}
