package io.meritstream.analytics;

/**
 * Exponentially smoothed emotion of one channel, and the running totals of its session summary.
 *
 * <p>The smoothing starts from a calm prior (NEUTRAL = 1, negativity 0) rather than from the first window, so one
 * loud first window cannot make the channel look negative at once: after one half-life of consistent anger the
 * smoothed angry probability is one half. Only speech windows move it; a non-speech or failed window leaves it as it
 * is (slope 0).
 *
 * <p>Public fields are the state (a Flink POJO of primitives and primitive arrays).
 */
public class TrendTracker {
    /** Smoothed probabilities in the model's class order. */
    public float[] smoothed = {0f, 0f, 0f, 1f};
    /** Samples of speech windows, per label of the window, for the time share. */
    public long[] labelSamples = new long[Emotions.COUNT];

    public long speechSamples;
    public float peakNegativity;
    public long peakNegativityTimeMs;

    public TrendTracker() {}

    /**
     * The samples of a window [{@code windowStart}, {@code windowEnd}) that no earlier window accounted for, when the
     * earlier ones ended at {@code previousEnd}: what the window adds to the summary's time shares.
     */
    public static long ownedSamples(long windowStart, long windowEnd, long previousEnd) {
        return Math.max(0, windowEnd - Math.max(windowStart, previousEnd));
    }

    /** Smoothing factor for one hop: 1 - 2^(-hop / half-life). */
    public static double alpha(double hopSeconds, double halfLifeSeconds) {
        return 1 - Math.pow(2, -hopSeconds / halfLifeSeconds);
    }

    /**
     * Folds one hop into the trend.
     *
     * @param probabilities the window's class probabilities; ignored unless {@code speech}
     * @param speech whether the window counts as speech (false also for a failed window)
     * @param ownedSamples the part of the timeline this window accounts for in the summary (its new audio)
     * @param hopSeconds the hop, for the smoothing factor and the slope
     * @param timeMs end of the window, for the peak's time
     * @return the slope: negativity change per second over this hop
     */
    public float update(
            float[] probabilities,
            boolean speech,
            long ownedSamples,
            double hopSeconds,
            long timeMs,
            AnalyticsConfig config) {
        float before = config.negativity(smoothed);
        if (speech) {
            double a = alpha(hopSeconds, config.halfLifeSeconds);
            for (int c = 0; c < Emotions.COUNT; c++) {
                smoothed[c] = (float) (smoothed[c] + a * (probabilities[c] - smoothed[c]));
            }
            labelSamples[Emotions.argmax(probabilities)] += ownedSamples;
            speechSamples += ownedSamples;
        }
        float after = config.negativity(smoothed);
        if (after > peakNegativity) {
            peakNegativity = after;
            peakNegativityTimeMs = timeMs;
        }
        return (float) ((after - before) / hopSeconds);
    }

    /** Share of speech time per label; all zero when the channel had no speech. */
    public float[] timeShare() {
        float[] share = new float[Emotions.COUNT];
        if (speechSamples > 0) {
            for (int c = 0; c < Emotions.COUNT; c++) {
                share[c] = (float) labelSamples[c] / speechSamples;
            }
        }
        return share;
    }

    /** The label with the most speech time; NEUTRAL when there was no speech. */
    public int dominant() {
        if (speechSamples == 0) {
            return Emotions.NEUTRAL;
        }
        int best = 0;
        for (int c = 1; c < Emotions.COUNT; c++) {
            if (labelSamples[c] > labelSamples[best]) {
                best = c;
            }
        }
        return best;
    }
}
