package io.meritstream.dsp;

/**
 * In-place iterative radix-2 complex FFT ({@code numpy.fft.fft} sign convention, no scaling): the one FFT of the project,
 * used by the speech-activity detector, the evaluation's STOI (which must agree with the Python reference to 1e-9, hence
 * twiddles from the angle rather than by repeated multiplication) and the report's spectrograms. Written by hand because
 * the libraries on Maven Central (Commons Math, JTransforms) allocate per call or add a dependency for 40 lines.
 */
public final class Fft {
    private Fft() {}

    public static void transform(double[] re, double[] im) {
        int n = re.length;
        if (Integer.bitCount(n) != 1 || im.length != n) {
            throw new IllegalArgumentException("FFT length must be a power of two, got " + n);
        }
        for (int i = 1, j = 0; i < n; i++) {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) {
                j ^= bit;
            }
            j ^= bit;
            if (i < j) {
                double t = re[i];
                re[i] = re[j];
                re[j] = t;
                t = im[i];
                im[i] = im[j];
                im[j] = t;
            }
        }
        for (int len = 2; len <= n; len <<= 1) {
            int halfLen = len >> 1;
            for (int k = 0; k < halfLen; k++) {
                // Twiddles from the angle directly (not by repeated multiplication) to keep the error at ~1 ulp.
                double angle = -2 * Math.PI * k / len;
                double wr = Math.cos(angle);
                double wi = Math.sin(angle);
                for (int start = 0; start < n; start += len) {
                    int a = start + k;
                    int b = a + halfLen;
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
