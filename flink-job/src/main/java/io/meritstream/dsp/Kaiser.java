package io.meritstream.dsp;

/**
 * Pieces of Kaiser-windowed-sinc filter design, shared by the job's polyphase resampler and the evaluation's
 * scipy-compatible resampler (which must match scipy to 1e-9, so both keep numpy's definitions).
 */
public final class Kaiser {
    private Kaiser() {}

    /** numpy's normalised sinc: sin(πx) / (πx), 1 at 0. */
    public static double sinc(double x) {
        if (x == 0) {
            return 1;
        }
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }

    /** Modified Bessel function of the first kind, order 0, by its power series (converges fast for β ≤ 20). */
    public static double besselI0(double x) {
        double sum = 1;
        double term = 1;
        double quarterSquare = x * x / 4;
        for (int k = 1; k < 200; k++) {
            term *= quarterSquare / ((double) k * k);
            sum += term;
            if (term < sum * 1e-17) {
                break;
            }
        }
        return sum;
    }
}
