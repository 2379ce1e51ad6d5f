package io.meritstream.cli.bench;

import java.util.Arrays;

/**
 * Percentiles by the nearest-rank method: the p-th percentile of n values is the smallest value with at least p % of
 * the values at or below it (rank {@code ceil(p / 100 * n)}). It always returns a value that was measured, never an
 * interpolation, so a p99 latency is a latency some event really had.
 */
public final class Percentiles {
    private final double[] sorted;

    private Percentiles(double[] sorted) {
        this.sorted = sorted;
    }

    public static Percentiles of(double[] values) {
        double[] copy = values.clone();
        Arrays.sort(copy);
        return new Percentiles(copy);
    }

    public int count() {
        return sorted.length;
    }

    /**
     * @param p in (0, 100]
     * @return the nearest-rank percentile, or NaN when there are no values
     */
    public double percentile(double p) {
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100], got " + p);
        }
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(rank, 1) - 1];
    }

    public double median() {
        return percentile(50);
    }

    public double max() {
        return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
    }
}
