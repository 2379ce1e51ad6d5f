package io.meritstream.evaluation;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The evaluation result JSON of {@code merit.metrics.evaluation_summary} (the Python evaluation's contract), built from
 * per-item results:
 *
 * <pre>
 * {"items": n,
 *  "ser": {"f1_macro", "f1_micro", "accuracy", "confusion"},            // pooled confusion of the items with both
 *  "se": {"ssnr_noisy_db", "ssnr_enhanced_db", "si_sdr_noisy_db",       //   a label and a prediction
 *         "si_sdr_enhanced_db", "stoi_noisy", "stoi_enhanced"},        // means over the items with a clean reference
 *  "by_snr": {"-5": {"items", "ser", "se"}, ...},                       // SNR formatted like Python's %g
 *  "by_noise": {"seen": ..., "unseen": ..., "unknown": ...},            // the manifest's noise_seen
 *  "by_condition": {"-5/unseen": ...},
 *  "by_noise_type": {"babble": ...}}                                    // Java only: the manifest's noise name
 * </pre>
 *
 * "ser" / "se" are left out of a group that has no such items. Two differences from Python, both for manifests the
 * Python evaluation cannot read at all: an item without {@code snr_db} is grouped under "unknown", and an item without
 * an emotion label is left out of SER instead of failing.
 */
public final class EvaluationSummary {
    private EvaluationSummary() {}

    public static final List<String> SE_KEYS = List.of(
            "ssnr_noisy_db",
            "ssnr_enhanced_db",
            "si_sdr_noisy_db",
            "si_sdr_enhanced_db",
            "stoi_noisy",
            "stoi_enhanced");

    /** SE scores of one item: the noisy input and the enhanced output, each against the clean reference. */
    public record SeScores(
            double ssnrNoisyDb,
            double ssnrEnhancedDb,
            double siSdrNoisyDb,
            double siSdrEnhancedDb,
            double stoiNoisy,
            double stoiEnhanced) {

        /** Computes every SE score over the common length of the three signals (16 kHz). */
        public static SeScores of(float[] clean, float[] noisy, float[] enhanced) {
            int n = Math.min(clean.length, Math.min(noisy.length, enhanced.length));
            float[] c = java.util.Arrays.copyOf(clean, n);
            float[] y = java.util.Arrays.copyOf(noisy, n);
            float[] e = java.util.Arrays.copyOf(enhanced, n);
            return new SeScores(
                    SpeechMetrics.ssnr(c, y),
                    SpeechMetrics.ssnr(c, e),
                    SpeechMetrics.siSdr(c, y),
                    SpeechMetrics.siSdr(c, e),
                    SpeechMetrics.stoi(c, y),
                    SpeechMetrics.stoi(c, e));
        }

        double get(String key) {
            return switch (key) {
                case "ssnr_noisy_db" -> ssnrNoisyDb;
                case "ssnr_enhanced_db" -> ssnrEnhancedDb;
                case "si_sdr_noisy_db" -> siSdrNoisyDb;
                case "si_sdr_enhanced_db" -> siSdrEnhancedDb;
                case "stoi_noisy" -> stoiNoisy;
                case "stoi_enhanced" -> stoiEnhanced;
                default -> throw new IllegalArgumentException("no SE metric " + key);
            };
        }

        public Map<String, Double> asMap() {
            Map<String, Double> m = new LinkedHashMap<>();
            for (String k : SE_KEYS) {
                m.put(k, get(k));
            }
            return m;
        }
    }

    /**
     * One evaluated item. Null fields are absent from the manifest (or, for {@code prediction}, from a model without an
     * emotion head; for {@code se}, from an item without a clean reference).
     */
    public record Item(Integer label, Integer prediction, Double snrDb, Boolean noiseSeen, String noise, SeScores se) {}

    /** The whole result: totals, then the groups by SNR, by seen/unseen noise, by both, and by noise type. */
    public static Map<String, Object> of(List<Item> items, int classes) {
        Map<String, Object> out = summarise(items, classes);
        out.put("by_snr", group(items, classes, it -> snrKey(it.snrDb())));
        out.put("by_noise", group(items, classes, it -> seenKey(it.noiseSeen())));
        out.put("by_condition", group(items, classes, it -> snrKey(it.snrDb()) + "/" + seenKey(it.noiseSeen())));
        out.put("by_noise_type", group(items, classes, it -> it.noise() == null ? "unknown" : it.noise()));
        return out;
    }

    /** {"items", "ser"?, "se"?} of a set of items. */
    public static Map<String, Object> summarise(List<Item> items, int classes) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("items", items.size());
        List<Integer> labels = new ArrayList<>();
        List<Integer> predictions = new ArrayList<>();
        for (Item it : items) {
            if (it.label() != null && it.prediction() != null) {
                labels.add(it.label());
                predictions.add(it.prediction());
            }
        }
        if (!labels.isEmpty()) {
            EmotionMetrics.Scores s = EmotionMetrics.scores(labels, predictions, classes);
            Map<String, Object> ser = new LinkedHashMap<>();
            ser.put("f1_macro", s.f1Macro());
            ser.put("f1_micro", s.f1Micro());
            ser.put("accuracy", s.accuracy());
            ser.put("confusion", s.confusion());
            out.put("ser", ser);
        }
        List<SeScores> se = items.stream().map(Item::se).filter(s -> s != null).toList();
        if (!se.isEmpty()) {
            Map<String, Object> means = new LinkedHashMap<>();
            for (String k : SE_KEYS) {
                double sum = 0;
                for (SeScores s : se) {
                    sum += s.get(k);
                }
                means.put(k, sum / se.size());
            }
            out.put("se", means);
        }
        return out;
    }

    private static Map<String, Object> group(List<Item> items, int classes, Function<Item, String> key) {
        Map<String, List<Item>> groups = new TreeMap<>(); // sorted by key string, as Python's sorted()
        for (Item it : items) {
            groups.computeIfAbsent(key.apply(it), k -> new ArrayList<>()).add(it);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        groups.forEach((k, v) -> out.put(k, summarise(v, classes)));
        return out;
    }

    static String seenKey(Boolean seen) {
        return seen == null ? "unknown" : seen ? "seen" : "unseen";
    }

    static String snrKey(Double snr) {
        return snr == null ? "unknown" : formatG(snr);
    }

    /**
     * Python's {@code f"{x:g}"}: 6 significant digits, trailing zeros dropped, exponent notation below 1e-4 and from
     * 1e6 on (e.g. -5.0 → "-5", 2.5 → "2.5", 1e6 → "1e+06").
     */
    static String formatG(double x) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        if (x == 0) {
            return (1 / x < 0) ? "-0" : "0";
        }
        BigDecimal rounded = new BigDecimal(x).round(new MathContext(6, RoundingMode.HALF_EVEN));
        int exponent = rounded.precision() - rounded.scale() - 1;
        if (exponent >= -4 && exponent < 6) {
            String s = rounded.stripTrailingZeros().toPlainString();
            return s;
        }
        BigDecimal mantissa = rounded.movePointLeft(exponent).stripTrailingZeros();
        String exp = String.format("%02d", Math.abs(exponent));
        return mantissa.toPlainString() + "e" + (exponent < 0 ? "-" : "+") + exp;
    }
}
