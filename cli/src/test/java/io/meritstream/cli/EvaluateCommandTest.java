package io.meritstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.cli.audio.WavAudio;
import io.meritstream.evaluation.SpeechMetrics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code merit evaluate} end to end with the job's tiny fixture model (random weights: the numbers are not judged, only
 * how items are counted and that the noisy-input scores are the metrics of the files themselves).
 */
class EvaluateCommandTest {
    @TempDir
    Path tmp;

    static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("model/tests/fixtures/metrics"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException(
                    "repository root not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    static final Path SIGNALS = repo().resolve("model/tests/fixtures/metrics");
    static final Path MODEL = repo().resolve("flink-job/src/test/resources/fixtures/sparse_merit_fixture.onnx");

    record Run(int code, String out, String err) {}

    static Run merit(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = MeritCli.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    Path manifest(String... lines) throws Exception {
        // Paths relative to the manifest, as in the corpus manifests.
        Path dir = tmp.resolve("set");
        Files.createDirectories(dir.resolve("audio"));
        for (String name : List.of("a_clean", "a_white_5db", "a_babble_0db", "b_clean", "b_noisy_0db")) {
            Files.copy(SIGNALS.resolve(name + ".wav"), dir.resolve("audio/" + name + ".wav"));
        }
        Path m = dir.resolve("test.jsonl");
        Files.write(m, List.of(lines));
        return m;
    }

    @Test
    void writesTheContractAndCountsItemsWithoutLabelOrCleanOnlyWhereTheyBelong() throws Exception {
        Path m = manifest(
                "{\"noisy\": \"audio/a_white_5db.wav\", \"clean\": \"audio/a_clean.wav\", \"emotion\": \"angry\","
                        + " \"snr_db\": 5.0, \"noise\": \"white\", \"noise_seen\": true, \"speaker\": \"x\"}",
                "",
                "{\"noisy\": \"audio/a_babble_0db.wav\", \"clean\": \"audio/a_clean.wav\", \"snr_db\": 0.0,"
                        + " \"noise\": \"babble\", \"noise_seen\": false}",
                "{\"noisy\": \"audio/b_noisy_0db.wav\", \"emotion\": \"sad\", \"snr_db\": 0.0, \"noise\": \"white\"}");
        Path out = tmp.resolve("out/r.json");
        Path items = tmp.resolve("out/items.jsonl");
        Run run = merit(
                "evaluate",
                "--manifest",
                m.toString(),
                "--model",
                MODEL.toString(),
                "--out",
                out.toString(),
                "--items",
                items.toString(),
                "--threads",
                "1");
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.err()).contains("3/3 items");
        assertThat(run.out()).startsWith("items 3 | SER F1-macro");

        JsonNode r = new ObjectMapper().readTree(out.toFile());
        assertThat(r.get("items").asInt()).isEqualTo(3);
        // SER: the two labelled items; SE: the two with a clean reference
        long serCount = 0;
        for (JsonNode row : r.get("ser").get("confusion")) {
            for (JsonNode c : row) {
                serCount += c.asLong();
            }
        }
        assertThat(serCount).isEqualTo(2);
        assertThat(r.get("ser").get("confusion").get(0)).hasSize(4);
        // the noisy-input SE scores do not involve the model: the mean over the two clean items of the file metrics
        float[] clean = WavAudio.read(SIGNALS.resolve("a_clean.wav")).channels()[0];
        float[] white = WavAudio.read(SIGNALS.resolve("a_white_5db.wav")).channels()[0];
        float[] babble = WavAudio.read(SIGNALS.resolve("a_babble_0db.wav")).channels()[0];
        double ssnr = (SpeechMetrics.ssnr(clean, white) + SpeechMetrics.ssnr(clean, babble)) / 2;
        double stoi = (SpeechMetrics.stoi(clean, white) + SpeechMetrics.stoi(clean, babble)) / 2;
        assertThat(r.get("se").get("ssnr_noisy_db").asDouble()).isCloseTo(ssnr, within(1e-9));
        assertThat(r.get("se").get("stoi_noisy").asDouble()).isCloseTo(stoi, within(1e-9));
        assertThat(r.get("se").get("stoi_enhanced").asDouble()).isBetween(-1.0, 1.0);
        // groups: by SNR (%g keys), by seen/unseen noise, by noise type
        assertThat(r.get("by_snr").get("0").get("items").asInt()).isEqualTo(2);
        assertThat(r.get("by_snr").get("5").get("items").asInt()).isEqualTo(1);
        assertThat(r.get("by_noise").get("unknown").get("items").asInt()).isEqualTo(1);
        assertThat(r.get("by_noise").get("unseen").has("ser")).isFalse(); // its only item has no emotion
        assertThat(r.get("by_noise_type").get("white").get("items").asInt()).isEqualTo(2);
        assertThat(r.get("by_noise_type").get("babble").has("se")).isTrue();
        assertThat(r.get("model").asText()).contains("sparse_merit_fixture");
        assertThat(r.get("windowing").get("window_samples").asInt()).isEqualTo(48_000);

        List<String> lines = Files.readAllLines(items);
        assertThat(lines).hasSize(3);
        JsonNode first = new ObjectMapper().readTree(lines.get(0));
        // 24123 samples: window 0 ([-32000, 16000)) is complete, window 1 ([-16000, 32000)) is the final one
        assertThat(first.get("windows").asInt()).isEqualTo(2);
        assertThat(first.get("probs")).hasSize(4);
        double sum = 0;
        for (JsonNode p : first.get("probs")) {
            sum += p.asDouble();
        }
        assertThat(sum).isCloseTo(1.0, within(1e-5));
        assertThat(new ObjectMapper().readTree(lines.get(2)).has("ssnr_noisy_db"))
                .isFalse();
    }

    @Test
    void speakerReferencesComeFromTheSpeakersOtherUtterancesAndChangeTheEstimate() throws Exception {
        // Speech-like signals (harmonics with a deep syllable envelope), which may enter a reference.
        Path dir = Files.createDirectories(tmp.resolve("voices"));
        int k = 0;
        for (String name : List.of("a1", "a2", "b", "c")) {
            WavAudio.writePcm16(dir.resolve(name + ".wav"), voiced(120 + 30 * k++), 16_000);
        }
        Path m = dir.resolve("m.jsonl");
        Files.write(
                m,
                List.of(
                        "{\"noisy\": \"a1.wav\", \"emotion\": \"angry\", \"speaker\": \"x\", \"utt\": \"a\"}",
                        "{\"noisy\": \"a2.wav\", \"emotion\": \"angry\", \"speaker\": \"x\", \"utt\": \"a\"}",
                        "{\"noisy\": \"b.wav\", \"emotion\": \"sad\", \"speaker\": \"x\", \"utt\": \"b\"}",
                        "{\"noisy\": \"c.wav\", \"emotion\": \"sad\", \"speaker\": \"y\", \"utt\": \"c\"}"));
        List<JsonNode> alone = evaluateItems(m, "alone");
        List<JsonNode> judged = evaluateItems(m, "judged", "--speaker-reference", "3");
        // a's two mixtures may only use b; b uses both of a; y has nobody else
        assertThat(judged)
                .extracting(j -> j.get("reference_weight").asDouble() > 0)
                .containsExactly(true, true, true, false);
        assertThat(judged.get(2).get("reference_weight").asDouble()).isGreaterThan(1.9);
        assertThat(alone).allSatisfy(j -> assertThat(j.get("reference_weight").asDouble())
                .isZero());
        assertThat(judged.get(0).get("probs")).isNotEqualTo(alone.get(0).get("probs"));
        assertThat(judged.get(3).get("probs")).isEqualTo(alone.get(3).get("probs"));
        JsonNode r = new ObjectMapper().readTree(tmp.resolve("out/judged.json").toFile());
        assertThat(r.get("speaker_reference").get("items_with_reference").asInt())
                .isEqualTo(3);

        Run skewed = merit(
                "evaluate",
                "--manifest",
                m.toString(),
                "--model",
                MODEL.toString(),
                "--out",
                tmp.resolve("out/s.json").toString(),
                "--reference-emotion",
                "angry");
        assertThat(skewed.code()).isEqualTo(2);
        assertThat(skewed.err()).contains("--reference-emotion needs --speaker-reference N");
    }

    /** 2 s of harmonics of {@code f0} under a 3 Hz syllable envelope. */
    private static float[] voiced(double f0) {
        float[] x = new float[32_000];
        for (int i = 0; i < x.length; i++) {
            double t = i / 16_000.0;
            double v = 0;
            for (int h = 1; h <= 8; h++) {
                v += Math.sin(2 * Math.PI * h * f0 * t) / h;
            }
            double envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
            x[i] = (float) (0.1 * envelope * envelope * v);
        }
        return x;
    }

    private List<JsonNode> evaluateItems(Path manifest, String name, String... extra) throws Exception {
        Path items = tmp.resolve("out/" + name + ".jsonl");
        List<String> args = new java.util.ArrayList<>(List.of(
                "evaluate",
                "--manifest",
                manifest.toString(),
                "--model",
                MODEL.toString(),
                "--out",
                tmp.resolve("out/" + name + ".json").toString(),
                "--items",
                items.toString(),
                "--threads",
                "1"));
        args.addAll(List.of(extra));
        Run run = merit(args.toArray(new String[0]));
        assertThat(run.code()).as(run.err()).isZero();
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(items)) {
            out.add(new ObjectMapper().readTree(line));
        }
        return out;
    }

    @Test
    void usageErrorsExitWithTwoAndSayWhy() throws Exception {
        Path m = manifest("{\"noisy\": \"audio/a_white_5db.wav\", \"emotion\": \"bored\"}");
        Path out = tmp.resolve("r.json");
        Run badLabel =
                merit("evaluate", "--manifest", m.toString(), "--model", MODEL.toString(), "--out", out.toString());
        assertThat(badLabel.code()).isEqualTo(2);
        assertThat(badLabel.err()).contains("line 1").contains("'bored'").contains("angry");

        Run noManifest =
                merit("evaluate", "--manifest", tmp.resolve("nope.jsonl").toString(), "--out", out.toString());
        assertThat(noManifest.code()).isEqualTo(2);
        assertThat(noManifest.err()).contains("nope.jsonl");

        Path broken = tmp.resolve("broken.jsonl");
        Files.writeString(broken, "{\"clean\": \"x.wav\"}\n");
        Run noNoisy = merit("evaluate", "--manifest", broken.toString(), "--out", out.toString());
        assertThat(noNoisy.code()).isEqualTo(2);
        assertThat(noNoisy.err()).contains("line 1").contains("noisy");

        Run badHop =
                merit("evaluate", "--manifest", m.toString(), "--out", out.toString(), "--window", "1s", "--hop", "2s");
        assertThat(badHop.code()).isEqualTo(2);
        assertThat(badHop.err()).contains("--hop");
        assertThat(out).doesNotExist();
    }

    @Test
    void helpExplainsTheStreamingPath() {
        Run help = merit("evaluate", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("--manifest").contains("--window").contains("mean of the window probabilities");
    }
}
