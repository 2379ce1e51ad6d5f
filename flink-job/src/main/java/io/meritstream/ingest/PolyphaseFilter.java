package io.meritstream.ingest;

import io.meritstream.dsp.Kaiser;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Coefficients of a rational L/M windowed-sinc (Kaiser) resampler from one input rate to 16 kHz, arranged by phase.
 *
 * <p>Why our own: no maintained resampling library is on Maven Central (TarsosDSP and libresample4j are not published
 * there; JTransforms and commons-math have FFTs but no resampler), and a polyphase FIR is short and fully testable.
 *
 * <p>Design: output sample {@code k} sits at input position {@code t = k·M/L}; it is {@code Σ x[i]·h(t − i)} with
 * {@code h(u) = 2ν·Kaiser.sinc(2ν·u)·kaiser(u / W)}, where {@code ν} is the cut-off in cycles per input sample. The pass band
 * ends at 90 % of the lower of the two Nyquist frequencies, the stop band starts at that Nyquist frequency (so nothing
 * folds back into the output band), with {@value #STOP_BAND_DB} dB stop-band attenuation from Kaiser's formulas. Since
 * {@code t − i} takes only {@code L} fractional values, the taps are tabulated per phase {@code (k·M) mod L}; each
 * phase is normalised to unit DC gain so that levels are exact. Immutable and shared per rate pair.
 */
public final class PolyphaseFilter {
    /** Stop-band attenuation the filters are designed for. */
    public static final double STOP_BAND_DB = 80.0;
    /** Pass band as a fraction of the lower Nyquist frequency. */
    public static final double PASS_BAND_FRACTION = 0.90;

    private static final Map<Long, PolyphaseFilter> CACHE = new ConcurrentHashMap<>();

    private final int inputRate;
    private final int outputRate;
    private final int up;
    private final int down;
    /** Taps reach from {@code base − halfTaps} to {@code base + halfTaps} input samples. */
    private final int halfTaps;
    /** {@code up} rows of {@code 2·halfTaps + 1} taps, row-major. */
    private final double[] taps;

    private PolyphaseFilter(int inputRate, int outputRate) {
        this.inputRate = inputRate;
        this.outputRate = outputRate;
        int gcd = gcd(inputRate, outputRate);
        this.up = outputRate / gcd;
        this.down = inputRate / gcd;

        double nyquist = Math.min(inputRate, outputRate) / 2.0;
        double pass = PASS_BAND_FRACTION * nyquist;
        double cutoff = (pass + nyquist) / 2 / inputRate; // cycles per input sample, the -6 dB point
        double transition = 2 * Math.PI * (nyquist - pass) / inputRate; // radians per input sample
        double length = (STOP_BAND_DB - 7.95) / (2.285 * transition); // Kaiser's estimate, in input samples
        double halfWidth = length / 2;
        double beta = 0.1102 * (STOP_BAND_DB - 8.7);
        this.halfTaps = (int) Math.ceil(halfWidth) + 1;

        int width = 2 * halfTaps + 1;
        this.taps = new double[up * width];
        double i0Beta = Kaiser.besselI0(beta);
        for (int phase = 0; phase < up; phase++) {
            double fraction = (double) phase / up;
            double sum = 0;
            for (int j = -halfTaps; j <= halfTaps; j++) {
                double u = fraction - j;
                double tap = 0;
                if (Math.abs(u) <= halfWidth) {
                    double r = u / halfWidth;
                    double window = Kaiser.besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
                    tap = 2 * cutoff * Kaiser.sinc(2 * cutoff * u) * window;
                }
                taps[phase * width + j + halfTaps] = tap;
                sum += tap;
            }
            for (int j = 0; j < width; j++) {
                taps[phase * width + j] /= sum;
            }
        }
    }

    /** The shared filter from {@code inputRate} to {@code outputRate}. */
    public static PolyphaseFilter of(int inputRate, int outputRate) {
        if (inputRate <= 0 || outputRate <= 0) {
            throw new IllegalArgumentException("rates must be positive: " + inputRate + " -> " + outputRate);
        }
        return CACHE.computeIfAbsent(
                ((long) inputRate << 32) | outputRate, key -> new PolyphaseFilter(inputRate, outputRate));
    }

    public int inputRate() {
        return inputRate;
    }

    public int outputRate() {
        return outputRate;
    }

    /** L: the output rate over the common divisor. */
    public int up() {
        return up;
    }

    /** M: the input rate over the common divisor. */
    public int down() {
        return down;
    }

    /** Input samples needed on each side of an output sample's position; also the look-ahead latency. */
    public int halfTaps() {
        return halfTaps;
    }

    /** Number of output samples for the first {@code inputSamples} of a stream: ceil(n·L/M). */
    public long outputsFor(long inputSamples) {
        return -Math.floorDiv(-inputSamples * up, down);
    }

    /** First input index output {@code k} depends on (may be negative near the stream start). */
    public long firstInputOf(long k) {
        return Math.floorDiv(k * down, up) - halfTaps;
    }

    /**
     * Output sample {@code k}; {@code input} holds the stream's input samples from index {@code inputStart} on, and
     * samples outside [0, {@code inputEnd}) are zero (before the start, after a flushed end).
     */
    double output(long k, float[] input, long inputStart, int inputLength, long inputEnd) {
        long position = k * down;
        long base = Math.floorDiv(position, up);
        int phase = (int) (position - base * up);
        int width = 2 * halfTaps + 1;
        int row = phase * width;
        long first = base - halfTaps;
        long last = base + halfTaps;
        double acc = 0;
        if (first >= 0 && first >= inputStart && last < inputEnd && last - inputStart < inputLength) {
            // Fast path, all but the first and last few outputs of a stream: every tap has a buffered sample.
            int offset = (int) (first - inputStart);
            for (int j = 0; j < width; j++) {
                acc += input[offset + j] * taps[row + j];
            }
            return acc;
        }
        for (int j = 0; j < width; j++) {
            long i = base - halfTaps + j;
            if (i < 0 || i >= inputEnd) {
                continue;
            }
            long offset = i - inputStart;
            if (offset < 0 || offset >= inputLength) {
                throw new IllegalStateException("input sample " + i + " is not buffered (buffer starts at " + inputStart
                        + ", " + inputLength + " samples)");
            }
            acc += input[(int) offset] * taps[row + j];
        }
        return acc;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
