package io.meritstream.inference;

/** Turns raw model outputs into what a {@link WindowResult} carries. */
public final class ModelOutputs {
    private ModelOutputs() {}

    /** Softmax, computed from the largest logit down so that large logits do not overflow. */
    public static float[] softmax(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("softmax of no logits");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            if (!Float.isFinite(l)) {
                throw new IllegalArgumentException("model returned a non-finite emotion logit: " + l);
            }
            max = Math.max(max, l);
        }
        double[] e = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        float[] p = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            p[i] = (float) (e[i] / sum);
        }
        return p;
    }

    /**
     * Frames routed to each expert.
     *
     * @param routing expert index per frame, or null for a model without experts
     * @return {@code experts} counts summing to the frame count; empty for a model without experts
     * @throws IllegalArgumentException on an expert index outside 0 .. experts - 1 (model and card disagree)
     */
    public static int[] histogram(long[] routing, int experts) {
        if (routing == null || experts == 0) {
            return new int[0];
        }
        int[] counts = new int[experts];
        for (long e : routing) {
            if (e < 0 || e >= experts) {
                throw new IllegalArgumentException(
                        "model routed a frame to expert " + e + " but has " + experts + " experts");
            }
            counts[(int) e]++;
        }
        return counts;
    }
}
