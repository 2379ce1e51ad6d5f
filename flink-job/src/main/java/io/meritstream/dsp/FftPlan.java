package io.meritstream.dsp;

/**
 * The radix-2 complex FFT of one fixed length, its twiddles and bit-reversal table computed once ({@code numpy.fft.fft}
 * sign convention, no scaling). Twiddles come from the angle directly, not by repeated multiplication, to keep the
 * error at about 1 ulp. The per-window prosody analysis holds one; {@link Fft} keeps one per length for everyone else.
 * An instance holds no mutable state and may be shared.
 */
public final class FftPlan {
    private final int n;
    private final int[] reverse;
    private final double[] cos;
    private final double[] sin;

    public FftPlan(int n) {
        if (n < 2 || Integer.bitCount(n) != 1) {
            throw new IllegalArgumentException("FFT length must be a power of two >= 2, got " + n);
        }
        this.n = n;
        reverse = new int[n];
        int bits = Integer.numberOfTrailingZeros(n);
        for (int i = 0; i < n; i++) {
            reverse[i] = Integer.reverse(i) >>> (32 - bits);
        }
        cos = new double[n / 2];
        sin = new double[n / 2];
        for (int k = 0; k < n / 2; k++) {
            double angle = -2 * Math.PI * k / n;
            cos[k] = Math.cos(angle);
            sin[k] = Math.sin(angle);
        }
    }

    public int size() {
        return n;
    }

    /** In place: {@code re} and {@code im} of length {@link #size()}. */
    public void transform(double[] re, double[] im) {
        if (re.length != n || im.length != n) {
            throw new IllegalArgumentException("arrays must have length " + n);
        }
        for (int i = 0; i < n; i++) {
            int j = reverse[i];
            if (i < j) {
                double t = re[i];
                re[i] = re[j];
                re[j] = t;
                t = im[i];
                im[i] = im[j];
                im[j] = t;
            }
        }
        // The first stage's twiddle is 1: plain sums and differences.
        for (int a = 0; a < n; a += 2) {
            double xr = re[a + 1];
            double xi = im[a + 1];
            re[a + 1] = re[a] - xr;
            im[a + 1] = im[a] - xi;
            re[a] += xr;
            im[a] += xi;
        }
        for (int len = 4; len <= n; len <<= 1) {
            int half = len >> 1;
            int stride = n / len;
            for (int k = 0; k < half; k++) {
                double wr = cos[k * stride];
                double wi = sin[k * stride];
                for (int a = k; a < n; a += len) {
                    int b = a + half;
                    double xr = re[b] * wr - im[b] * wi;
                    double xi = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - xr;
                    im[b] = im[a] - xi;
                    re[a] += xr;
                    im[a] += xi;
                }
            }
        }
    }
}
