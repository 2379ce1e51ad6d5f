package io.meritstream.evaluation;

import io.meritstream.dsp.Kaiser;

/**
 * scipy's {@code signal.resample_poly(x, up, down)} with its defaults (Kaiser window β = 5, zero padding), which the
 * Python STOI uses to go from 16 kHz to 10 kHz. Reproduced exactly rather than with the job's own resampler (a
 * different filter), because STOI must match the Python evaluation's numbers.
 */
final class Resample {
    private Resample() {}

    private static final double KAISER_BETA = 5.0;

    /**
     * Output {@code k} is {@code Σ_i x[i] · h[(k + preRemove)·down − prePad − i·up]} for the low-pass {@code h =
     * up · firwin(2·half + 1, 1 / max(up, down), kaiser(5))}, {@code half = 10 · max(up, down)}: upfirdn followed by
     * scipy's trimming, evaluated only where the filter is non-zero. {@code ceil(n · up / down)} outputs.
     */
    static double[] poly(double[] x, int up, int down) {
        int g = gcd(up, down);
        up /= g;
        down /= g;
        if (up == 1 && down == 1) {
            return x.clone();
        }
        int maxRate = Math.max(up, down);
        int half = 10 * maxRate;
        double[] h = firwin(2 * half + 1, 1.0 / maxRate);
        for (int i = 0; i < h.length; i++) {
            h[i] *= up;
        }
        int prePad = down - half % down;
        int preRemove = (half + prePad) / down;
        long nOut = ((long) x.length * up + down - 1) / down;
        double[] y = new double[(int) nOut];
        for (int k = 0; k < y.length; k++) {
            long base = (long) (k + preRemove) * down - prePad; // filter index for i = 0
            // h index = base - i·up must lie in [0, h.length)
            long iMin = Math.max(0, ceilDiv(base - (h.length - 1), up));
            long iMax = Math.min(x.length - 1, Math.floorDiv(base, (long) up));
            double s = 0;
            for (long i = iMin; i <= iMax; i++) {
                s += x[(int) i] * h[(int) (base - i * up)];
            }
            y[k] = s;
        }
        return y;
    }

    /** scipy's {@code firwin(numtaps, cutoff)} low-pass (cutoff relative to Nyquist) with a Kaiser(5) window, scaled to 1. */
    static double[] firwin(int numtaps, double cutoff) {
        double alpha = 0.5 * (numtaps - 1);
        double[] h = new double[numtaps];
        double sum = 0;
        double i0Beta = Kaiser.besselI0(KAISER_BETA);
        for (int n = 0; n < numtaps; n++) {
            double m = n - alpha;
            double r = (n - alpha) / alpha;
            double window = Kaiser.besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
            h[n] = cutoff * Kaiser.sinc(cutoff * m) * window;
            sum += h[n];
        }
        for (int n = 0; n < numtaps; n++) {
            h[n] /= sum;
        }
        return h;
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
