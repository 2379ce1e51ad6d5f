package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime (Java) against PyTorch on the committed tiny fixture: every output of every case, and the load-time
 * checks. Regenerate the fixture with {@code PYTHONPATH=model /usr/bin/python3 -m merit.fixtures --out
 * flink-job/src/test/resources/fixtures}.
 */
class MeritModelParityTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double LOGIT_TOLERANCE = 1e-4;
    private static final double WAVEFORM_TOLERANCE = 1e-3;
    private static final double GATE_TOLERANCE = 1e-4;

    private static Path fixtures;
    private static JsonNode index;
    private static MeritModel model;

    @BeforeAll
    static void loadFixture() throws Exception {
        fixtures = fixtureDir();
        index = JSON.readTree(fixtures.resolve("references.json").toFile());
        model = MeritModel.load(fixtures.resolve(index.get("model").asText()));
    }

    @AfterAll
    static void closeModel() throws Exception {
        if (model != null) {
            model.close();
        }
    }

    private static Path fixtureDir() throws URISyntaxException {
        return Path.of(MeritModelParityTest.class
                        .getResource("/fixtures/references.json")
                        .toURI())
                .getParent();
    }

    @Test
    void cardDescribesTheGraph() {
        assertThat(model.classes()).containsExactly("angry", "sad", "happy", "neutral");
        assertThat(model.expertCount()).isEqualTo(3);
        assertThat(model.card().sampleRate()).isEqualTo(16_000);
        assertThat(model.card().windowSeconds()).isEqualTo(3.0);
        assertThat(model.card().hopSeconds()).isEqualTo(1.0);
        assertThat(model.outputNames())
                .containsExactly("enhanced", "emotion_logits", "routing_se", "routing_ser", "gate_se", "gate_ser");
    }

    @Test
    void aSmallerBatchAfterALargerOneReadsOnlyItsOwnInput() throws Exception {
        // The input buffer is reused across calls (InputBuffer): nothing of an earlier, larger batch may leak in.
        java.util.Random random = new java.util.Random(3);
        float[][] large = new float[4][16_000];
        float[][] small = new float[1][16_000];
        for (float[][] batch : new float[][][] {large, small}) {
            for (float[] row : batch) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = (float) (random.nextGaussian() * 0.1);
                }
            }
        }
        MeritOutput alone = model.run(small);
        model.run(large);
        MeritOutput after = model.run(small);
        assertThat(after.emotionLogits()[0]).containsExactly(alone.emotionLogits()[0]);
        assertThat(after.enhanced()[0]).containsExactly(alone.enhanced()[0]);
    }

    @Test
    void matchesPyTorchOnEveryCase() throws Exception {
        assertThat(index.get("cases")).hasSize(4);
        for (JsonNode c : index.get("cases")) {
            String name = c.get("name").asText();
            JsonNode t = c.get("tensors");
            int batch = c.get("batch").asInt();
            float[][] input = reshape(readFloats(t.get("waveform")), batch);
            SpeakerReferenceInputs reference = new SpeakerReferenceInputs(
                    reshape(readFloats(t.get("prosody")), batch),
                    reshape(readFloats(t.get("speaker_ref")), batch),
                    readFloats(t.get("speaker_ref_weight")));

            MeritOutput out = model.run(input, reference, null);

            float[][] enhanced = reshape(readFloats(t.get("enhanced")), batch);
            float[][] logits = reshape(readFloats(t.get("emotion_logits")), batch);
            double waveErr = maxAbsDiff(out.enhanced(), enhanced);
            double logitErr = maxAbsDiff(out.emotionLogits(), logits);
            double gateErr = Math.max(
                    maxAbsDiff(flatten(out.gateSe()), readFloats(t.get("gate_se"))),
                    maxAbsDiff(flatten(out.gateSer()), readFloats(t.get("gate_ser"))));
            System.out.printf(
                    "parity %s: enhanced max|diff| %.3g, logits %.3g, gates %.3g%n", name, waveErr, logitErr, gateErr);

            assertThat(out.enhanced())
                    .as(name)
                    .hasDimensions(batch, c.get("samples").asInt());
            assertThat(waveErr).as(name + " enhanced").isLessThanOrEqualTo(WAVEFORM_TOLERANCE);
            assertThat(logitErr).as(name + " emotion_logits").isLessThanOrEqualTo(LOGIT_TOLERANCE);
            assertThat(gateErr).as(name + " gates").isLessThanOrEqualTo(GATE_TOLERANCE);
            assertThat(out.routingSe())
                    .as(name + " routing_se")
                    .isDeepEqualTo(reshape(readLongs(t.get("routing_se")), batch));
            assertThat(out.routingSer())
                    .as(name + " routing_ser")
                    .isDeepEqualTo(reshape(readLongs(t.get("routing_ser")), batch));
        }
    }

    @Test
    void withoutAReferenceTheWindowIsJudgedAloneAndAReferenceChangesTheEstimate() throws Exception {
        assertThat(model.usesSpeakerReference()).isTrue();
        JsonNode t = index.get("cases").get(0).get("tensors");
        float[][] input = reshape(readFloats(t.get("waveform")), 1);
        float[][] prosody = reshape(readFloats(t.get("prosody")), 1);
        float[][] none = model.run(input).emotionLogits();
        float[][] explicitNone = model.run(
                        input, SpeakerReferenceInputs.of(List.of(SpeakerReferenceInputs.Row.NONE)), null)
                .emotionLogits();
        float[][] ownProsodyOnly = model.run(
                        input, new SpeakerReferenceInputs(prosody, new float[1][20], new float[1]), null)
                .emotionLogits();
        float[][] withReference = model.run(
                        input,
                        new SpeakerReferenceInputs(
                                prosody, reshape(readFloats(t.get("speaker_ref")), 1), new float[] {4f}),
                        null)
                .emotionLogits();
        assertThat(none).isDeepEqualTo(explicitNone);
        // weight 0: the window's own prosody does not move the estimate either
        assertThat(maxAbsDiff(ownProsodyOnly, none)).isLessThan(1e-6);
        assertThat(maxAbsDiff(withReference, none)).isGreaterThan(1e-3);
    }

    @Test
    void rejectsAGraphWhoseInputsDifferFromItsCard(@TempDir Path dir) throws Exception {
        Path onnx = copyWithCard(dir, card -> card.remove("speaker_reference"));
        assertThatThrownBy(() -> MeritModel.load(onnx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has inputs [prosody, speaker_ref, speaker_ref_weight, waveform]")
                .hasMessageContaining("needs exactly [waveform]");
        Path newer = copyWithCard(
                Files.createDirectories(dir.resolve("v2")),
                card -> ((ObjectNode) card.get("speaker_reference")).put("version", 2));
        assertThatThrownBy(() -> MeritModel.load(newer))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("features of version 2 but this job computes version 1");
    }

    @Test
    void rejectsRaggedAndTooShortBatches() {
        assertThatThrownBy(() -> model.run(new float[][] {new float[16000], new float[8000]}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("row 1 has 8000 samples but row 0 has 16000");
        assertThatThrownBy(() -> model.run(new float[][] {new float[399]}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 400");
        assertThatThrownBy(() -> model.run(new float[0][]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty batch");
    }

    @Test
    void rejectsAModelWhoseHashDiffersFromItsCard(@TempDir Path dir) throws Exception {
        Path onnx = copyWithCard(dir, card -> card.put("sha256", "0".repeat(64)));
        assertThatThrownBy(() -> MeritModel.load(onnx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sha256 mismatch for " + onnx)
                .hasMessageContaining("says " + "0".repeat(64))
                .hasMessageContaining("hashes to " + model.card().sha256());
    }

    @Test
    void rejectsAWrongSampleRate(@TempDir Path dir) throws Exception {
        Path onnx = copyWithCard(dir, card -> card.put("sample_rate", 8000));
        assertThatThrownBy(() -> MeritModel.load(onnx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expects 8000 Hz audio")
                .hasMessageContaining("the job feeds 16000 Hz");
    }

    @Test
    void rejectsAnotherClassOrder(@TempDir Path dir) throws Exception {
        Path onnx = copyWithCard(dir, card -> card.putArray("classes")
                .add("neutral")
                .add("happy")
                .add("sad")
                .add("angry"));
        assertThatThrownBy(() -> MeritModel.load(onnx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[neutral, happy, sad, angry]")
                .hasMessageContaining("expects [angry, sad, happy, neutral] in that order");
    }

    @Test
    void rejectsAGraphWithoutEmotionLogits() {
        Path onnx = fixtures.resolve("se_identity.onnx");
        assertThatThrownBy(() -> MeritModel.load(onnx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no output 'emotion_logits' (outputs: [enhanced])");
    }

    @Test
    void rejectsACardThatListsOutputsTheGraphLacks(@TempDir Path dir) throws Exception {
        Path onnx = copyWithCard(dir, card -> ((ArrayNode) card.get("outputs"))
                .addObject()
                .put("name", "speaker_embedding")
                .put("dtype", "float32"));
        assertThatThrownBy(() -> MeritModel.load(onnx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lists outputs [emotion_logits, enhanced, gate_se, gate_ser, routing_se,"
                        + " routing_ser, speaker_embedding]");
    }

    @Test
    void rejectsAMissingCard(@TempDir Path dir) throws Exception {
        Path onnx = dir.resolve("model.onnx");
        Files.copy(fixtures.resolve(index.get("model").asText()), onnx);
        assertThatThrownBy(() -> MeritModel.load(onnx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Model card not found: " + dir.resolve("model.json"));
    }

    /** Copies the fixture model into {@code dir} with an edited card beside it. */
    private static Path copyWithCard(Path dir, Consumer<ObjectNode> edit) throws IOException {
        String model = index.get("model").asText();
        String card = index.get("card").asText();
        Path onnx = dir.resolve(model);
        Files.copy(fixtures.resolve(model), onnx);
        ObjectNode json = (ObjectNode) JSON.readTree(fixtures.resolve(card).toFile());
        edit.accept(json);
        JSON.writeValue(dir.resolve(card).toFile(), json);
        return onnx;
    }

    private static float[] readFloats(JsonNode spec) throws IOException {
        assertThat(spec.get("dtype").asText()).isEqualTo("float32");
        ByteBuffer bytes = ByteBuffer.wrap(
                        Files.readAllBytes(fixtures.resolve(spec.get("file").asText())))
                .order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.remaining() / Float.BYTES];
        bytes.asFloatBuffer().get(out);
        assertThat(out.length).isEqualTo(elements(spec));
        return out;
    }

    private static long[] readLongs(JsonNode spec) throws IOException {
        assertThat(spec.get("dtype").asText()).isEqualTo("int64");
        ByteBuffer bytes = ByteBuffer.wrap(
                        Files.readAllBytes(fixtures.resolve(spec.get("file").asText())))
                .order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[bytes.remaining() / Long.BYTES];
        bytes.asLongBuffer().get(out);
        assertThat(out.length).isEqualTo(elements(spec));
        return out;
    }

    private static int elements(JsonNode spec) {
        int n = 1;
        for (JsonNode d : spec.get("shape")) {
            n *= d.asInt();
        }
        return n;
    }

    private static float[][] reshape(float[] flat, int rows) {
        int cols = flat.length / rows;
        float[][] out = new float[rows][];
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        }
        return out;
    }

    private static long[][] reshape(long[] flat, int rows) {
        int cols = flat.length / rows;
        long[][] out = new long[rows][];
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        }
        return out;
    }

    private static float[] flatten(float[][][] x) {
        int n = 0;
        for (float[][] a : x) {
            for (float[] row : a) {
                n += row.length;
            }
        }
        float[] out = new float[n];
        int i = 0;
        for (float[][] a : x) {
            for (float[] row : a) {
                System.arraycopy(row, 0, out, i, row.length);
                i += row.length;
            }
        }
        return out;
    }

    private static double maxAbsDiff(float[][] a, float[][] b) {
        assertThat(a.length).isEqualTo(b.length);
        double max = 0;
        for (int r = 0; r < a.length; r++) {
            max = Math.max(max, maxAbsDiff(a[r], b[r]));
        }
        return max;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a.length).isEqualTo(b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }
}
