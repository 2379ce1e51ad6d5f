package io.meritstream.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java metrics reproduce the Python evaluation's ({@code model/merit/metrics.py}) on the shared fixture in
 * {@code model/tests/fixtures/metrics/}: the same 16-bit WAV signals, label lists and evaluation records, and the values
 * Python computed from them ({@code expected.json}, written by {@code model/merit/metrics_fixture.py}). The pytest
 * {@code test_metrics_fixture.py} checks that those values still match the current Python code, so a change on either
 * side fails one of the two tests.
 *
 * <p>Tolerances: both sides compute in float64 from bit-identical samples with the same algorithms (scipy's
 * resampling filter included), so they agree to rounding; the bounds leave room only for summation order and libm.
 */
class MetricsAgreementTest {
    /** SSNR and SI-SDR in dB, relative. */
    static final double DB_RELATIVE = 1e-9;
    /** STOI, absolute. */
    static final double STOI_ABSOLUTE = 1e-9;
    /** F1, accuracy and SE means of the summary. */
    static final double SCORE_RELATIVE = 1e-12;

    static Path dir;
    static JsonNode expected;

    @BeforeAll
    static void load() throws Exception {
        dir = fixtureDir();
        expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
    }

    /** The fixture lives with the Python code that writes it; tests run in the module directory. */
    static Path fixtureDir() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            Path candidate = p.resolve("model/tests/fixtures/metrics");
            if (Files.isRegularFile(candidate.resolve("expected.json"))) {
                return candidate;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("model/tests/fixtures/metrics/expected.json not found above "
                + Path.of("").toAbsolutePath() + " (run /usr/bin/python3 model/merit/metrics_fixture.py)");
    }

    static float[] signal(String name) throws Exception {
        return Evaluator.readMono16k(dir.resolve(name + ".wav"));
    }

    @Test
    void ssnrSiSdrAndStoiMatchPythonOnEveryPair() throws Exception {
        assertThat(expected.get("se")).hasSizeGreaterThanOrEqualTo(8);
        for (JsonNode pair : expected.get("se")) {
            float[] ref = signal(pair.get("reference").asText());
            float[] est = signal(pair.get("estimate").asText());
            String what = pair.get("reference").asText() + " vs "
                    + pair.get("estimate").asText();
            assertRelative(SpeechMetrics.ssnr(ref, est), pair.get("ssnr_db").asDouble(), DB_RELATIVE, "SSNR " + what);
            assertRelative(
                    SpeechMetrics.siSdr(ref, est), pair.get("si_sdr_db").asDouble(), DB_RELATIVE, "SI-SDR " + what);
            assertThat(SpeechMetrics.stoi(ref, est))
                    .as("STOI " + what)
                    .isCloseTo(pair.get("stoi").asDouble(), within(STOI_ABSOLUTE));
        }
    }

    @Test
    void f1AccuracyAndConfusionMatchPythonOnEveryLabelCase() {
        for (JsonNode c : expected.get("ser")) {
            List<Integer> labels = ints(c.get("labels"));
            List<Integer> preds = ints(c.get("preds"));
            EmotionMetrics.Scores s = EmotionMetrics.scores(
                    labels, preds, expected.get("num_classes").asInt());
            String name = c.get("name").asText();
            assertRelative(s.f1Macro(), c.get("f1_macro").asDouble(), SCORE_RELATIVE, "F1-macro " + name);
            assertRelative(s.f1Micro(), c.get("f1_micro").asDouble(), SCORE_RELATIVE, "F1-micro " + name);
            assertRelative(s.accuracy(), c.get("accuracy").asDouble(), SCORE_RELATIVE, "accuracy " + name);
            for (int k = 0; k < s.f1PerClass().length; k++) {
                assertRelative(
                        s.f1PerClass()[k], c.get("f1_per_class").get(k).asDouble(), SCORE_RELATIVE, name + " F1 " + k);
            }
            assertThat(s.confusion()).as("confusion " + name).isEqualTo(longs2d(c.get("confusion")));
        }
    }

    @Test
    void summaryMatchesPythonsEvaluationSummary() {
        JsonNode summary = expected.get("summary");
        List<EvaluationSummary.Item> items = new ArrayList<>();
        for (JsonNode it : summary.get("items")) {
            EvaluationSummary.SeScores se = it.has("ssnr_noisy_db")
                    ? new EvaluationSummary.SeScores(
                            it.get("ssnr_noisy_db").asDouble(),
                            it.get("ssnr_enhanced_db").asDouble(),
                            it.get("si_sdr_noisy_db").asDouble(),
                            it.get("si_sdr_enhanced_db").asDouble(),
                            it.get("stoi_noisy").asDouble(),
                            it.get("stoi_enhanced").asDouble())
                    : null;
            items.add(new EvaluationSummary.Item(
                    it.get("label").asInt(),
                    it.hasNonNull("pred") ? it.get("pred").asInt() : null,
                    it.get("snr_db").asDouble(),
                    it.get("noise_seen").isNull() ? null : it.get("noise_seen").asBoolean(),
                    null,
                    se));
        }
        JsonNode actual = new ObjectMapper().valueToTree(EvaluationSummary.of(items, 4));
        JsonNode want = summary.get("expected");
        // Every key Python writes, with the same values; Java adds only the grouping by noise type.
        List<String> extra = new ArrayList<>();
        actual.fieldNames().forEachRemaining(k -> {
            if (!want.has(k)) {
                extra.add(k);
            }
        });
        assertThat(extra).containsExactly("by_noise_type");
        compare(want, actual, "summary");
        // Group keys in Python's sorted order, SNRs formatted like %g ("2.5", "-5", not "-5.0").
        assertThat(iterable(actual.get("by_snr").fieldNames())).containsExactly("-5", "0", "2.5", "20", "5");
    }

    @Test
    void snrKeysAreFormattedLikePythonsG() {
        assertThat(EvaluationSummary.formatG(-5.0)).isEqualTo("-5");
        assertThat(EvaluationSummary.formatG(0.0)).isEqualTo("0");
        assertThat(EvaluationSummary.formatG(-0.0)).isEqualTo("-0");
        assertThat(EvaluationSummary.formatG(2.5)).isEqualTo("2.5");
        assertThat(EvaluationSummary.formatG(12.345678)).isEqualTo("12.3457");
        assertThat(EvaluationSummary.formatG(1e6)).isEqualTo("1e+06");
        assertThat(EvaluationSummary.formatG(123456.0)).isEqualTo("123456");
        assertThat(EvaluationSummary.formatG(0.0001)).isEqualTo("0.0001");
        assertThat(EvaluationSummary.formatG(0.00001234)).isEqualTo("1.234e-05");
    }

    private static void compare(JsonNode want, JsonNode actual, String path) {
        assertThat(actual).as(path + " missing").isNotNull();
        if (want.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = want.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                compare(e.getValue(), actual.get(e.getKey()), path + "." + e.getKey());
            }
            assertThat(iterable(actual.fieldNames())).as(path + " keys").containsAll(iterable(want.fieldNames()));
        } else if (want.isArray()) {
            assertThat(actual.size()).as(path + " length").isEqualTo(want.size());
            for (int i = 0; i < want.size(); i++) {
                compare(want.get(i), actual.get(i), path + "[" + i + "]");
            }
        } else if (want.isIntegralNumber()) {
            assertThat(actual.asLong()).as(path).isEqualTo(want.asLong());
        } else if (want.isNumber()) {
            assertRelative(actual.asDouble(), want.asDouble(), SCORE_RELATIVE, path);
        } else {
            assertThat(actual).as(path).isEqualTo(want);
        }
    }

    static void assertRelative(double actual, double expected, double relative, String what) {
        double bound = Math.max(1e-12, Math.abs(expected) * relative);
        assertThat(actual).as(what).isCloseTo(expected, within(bound));
    }

    private static List<String> iterable(Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asInt()));
        return out;
    }

    private static long[][] longs2d(JsonNode array) {
        long[][] out = new long[array.size()][];
        for (int i = 0; i < array.size(); i++) {
            out[i] = new long[array.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = array.get(i).get(j).asLong();
            }
        }
        return out;
    }
}
