package io.meritstream.evaluation;

import java.util.List;

/**
 * Speech-emotion-recognition scores with the definitions of {@code model/merit/metrics.py} (sklearn's conventions): per
 * class F1 = 2PR / (P + R), 0 where a denominator is 0; F1-macro the unweighted mean over ALL classes (a class absent
 * from labels and predictions counts as 0); F1-micro the F1 of the pooled counts (equal to accuracy for single-label
 * data); {@code confusion[i][j]} the items of label i predicted as j.
 */
public final class EmotionMetrics {
    private EmotionMetrics() {}

    /** The scores of one set of predictions. */
    public record Scores(double f1Macro, double f1Micro, double accuracy, double[] f1PerClass, long[][] confusion) {}

    public static long[][] confusion(List<Integer> labels, List<Integer> predictions, int classes) {
        if (labels.size() != predictions.size()) {
            throw new IllegalArgumentException(labels.size() + " labels but " + predictions.size() + " predictions");
        }
        long[][] cm = new long[classes][classes];
        for (int i = 0; i < labels.size(); i++) {
            cm[labels.get(i)][predictions.get(i)]++;
        }
        return cm;
    }

    public static Scores scores(List<Integer> labels, List<Integer> predictions, int classes) {
        return fromConfusion(confusion(labels, predictions, classes));
    }

    public static Scores fromConfusion(long[][] cm) {
        int c = cm.length;
        double[] perClass = new double[c];
        double tpSum = 0;
        double fpSum = 0;
        double fnSum = 0;
        double total = 0;
        for (int k = 0; k < c; k++) {
            double tp = cm[k][k];
            double predicted = 0;
            double actual = 0;
            for (int j = 0; j < c; j++) {
                predicted += cm[j][k];
                actual += cm[k][j];
                total += cm[k][j];
            }
            double fp = predicted - tp;
            double fn = actual - tp;
            double p = tp + fp > 0 ? tp / (tp + fp) : 0.0;
            double r = tp + fn > 0 ? tp / (tp + fn) : 0.0;
            perClass[k] = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
            tpSum += tp;
            fpSum += fp;
            fnSum += fn;
        }
        double macro = 0;
        for (double f : perClass) {
            macro += f;
        }
        macro /= c;
        double micro = tpSum + fpSum + fnSum > 0 ? 2 * tpSum / (2 * tpSum + fpSum + fnSum) : 0.0;
        double accuracy = total > 0 ? tpSum / total : 0.0;
        long[][] copy = new long[c][];
        for (int k = 0; k < c; k++) {
            copy[k] = cm[k].clone();
        }
        return new Scores(macro, micro, accuracy, perClass, copy);
    }
}
