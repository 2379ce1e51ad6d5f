package io.meritstream.dsp;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * In-place iterative radix-2 complex FFT ({@code numpy.fft.fft} sign convention, no scaling), used by the
 * speech-activity detector, the evaluation's STOI (which must agree with the Python reference to 1e-9) and the report's
 * spectrograms. It runs the {@link FftPlan} of the length, kept once per length, so the project has one FFT. Written by
 * hand because the libraries on Maven Central (Commons Math, JTransforms) allocate per call or add a dependency for 40
 * lines.
 */
public final class Fft {
    private static final Map<Integer, FftPlan> PLANS = new ConcurrentHashMap<>();

    private Fft() {}

    public static void transform(double[] re, double[] im) {
        int n = re.length;
        if (Integer.bitCount(n) != 1 || im.length != n) {
            throw new IllegalArgumentException("FFT length must be a power of two, got " + n);
        }
        if (n == 1) {
            return; // the transform of one sample is that sample
        }
        PLANS.computeIfAbsent(n, FftPlan::new).transform(re, im);
    }
}
