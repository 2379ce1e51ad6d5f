package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OverlapAddTest {

    /** One window as the windower cuts it: start (maybe negative), real samples from the start, final flag. */
    record Window(long start, int valid, boolean last) {}

    /** Windows over a signal of {@code length} samples, the first starting at {@code -pad}, as the windower emits them. */
    static List<Window> windows(int length, int window, int hop, int pad) {
        List<Window> windows = new ArrayList<>();
        for (long start = -pad; ; start += hop) {
            if (start + window >= length) {
                windows.add(new Window(start, (int) (length - start), true));
                return windows;
            }
            windows.add(new Window(start, window, false));
        }
    }

    /** The signal's samples in a window, zero outside [0, valid) of the window and outside the signal. */
    static float[] cut(float[] signal, Window w, int window) {
        float[] out = new float[window];
        for (int n = 0; n < w.valid(); n++) {
            long p = w.start() + n;
            if (p >= 0 && p < signal.length) {
                out[n] = signal[(int) p];
            }
        }
        return out;
    }

    /** Streams the windows through a model and overlap-add; checks the chunk sequence; returns the concatenation. */
    static float[] stream(
            float[] signal,
            int window,
            int hop,
            int pad,
            BiFunction<Integer, float[], float[]> model,
            Set<Integer> failed) {
        OverlapAdd ola = new OverlapAdd();
        List<OverlapAdd.Chunk> chunks = new ArrayList<>();
        List<Window> windows = windows(signal.length, window, hop, pad);
        int maxSpans = 0;
        for (int i = 0; i < windows.size(); i++) {
            Window w = windows.get(i);
            ola.init(hop);
            if (failed.contains(i)) {
                ola.extendEnd(w.start() + w.valid());
            } else {
                ola.add(w.start(), window, model.apply(i, cut(signal, w, window)), w.valid());
            }
            if (w.last()) {
                chunks.addAll(ola.finish());
            } else {
                chunks.addAll(ola.drain(w.start() + hop));
            }
            maxSpans = Math.max(maxSpans, ola.spanStarts.length);
            // Only the not yet emitted part of the timeline is kept.
            assertThat(ola.numerator.length).isLessThanOrEqualTo(window + hop);
        }
        assertThat(maxSpans).isLessThanOrEqualTo((window + hop - 1) / hop + 1);

        float[] out = new float[signal.length];
        long position = 0;
        for (int k = 0; k < chunks.size(); k++) {
            OverlapAdd.Chunk c = chunks.get(k);
            assertThat(c.seq()).isEqualTo(k);
            assertThat(c.startSample()).isEqualTo(position);
            assertThat(c.endOfStream()).isEqualTo(k == chunks.size() - 1);
            if (k < chunks.size() - 1) {
                assertThat(c.samples()).hasSize(hop);
            } else {
                assertThat(c.samples().length).isBetween(0, hop);
            }
            System.arraycopy(c.samples(), 0, out, (int) position, c.samples().length);
            position += c.samples().length;
        }
        assertThat(position).as("chunks cover the real audio, no padding").isEqualTo(signal.length);
        return out;
    }

    static double maxError(float[] a, float[] b, int from, int to) {
        double max = 0;
        for (int i = from; i < to; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    @ParameterizedTest(name = "window {0}, hop {1}, pad {2}, length {3}")
    @CsvSource({
        "48000, 16000, 32000, 88000", // production shape: 3 s / 1 s, padded start, partial last window
        "48000, 16000, 0, 96000", // no padding, audio ends exactly at a window end
        "480, 160, 0, 5003",
        "500, 160, 100, 4321", // window not a multiple of the hop
        "400, 400, 0, 2000", // no overlap at all
        "1024, 256, 768, 10000"
    })
    void identityModelReproducesTheInput(int window, int hop, int pad, int length) {
        float[] signal = TestSignals.voiced(length, 0.4, 11);
        float[] out = stream(signal, window, hop, pad, (i, x) -> x, Set.of());
        assertThat(maxError(signal, out, 0, length)).isLessThan(1e-5);
    }

    @Test
    void linearModelMatchesTheOfflineRunAwayFromTheEdges() {
        // The "model": a fixed FIR filter applied to each window on its own (zero outside the window), as a real model
        // sees only its window. Offline it runs once over the whole signal.
        double[] taps = {0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05};
        BiFunction<Integer, float[], float[]> filter = (i, x) -> fir(taps, x);
        float[] signal = TestSignals.voiced(5 * 16_000 + 777, 0.4, 12);
        float[] offline = fir(taps, signal);
        float[] streamed = stream(signal, 48_000, 16_000, 32_000, filter, Set.of());
        int edge = taps.length;
        assertThat(maxError(offline, streamed, edge, signal.length - edge)).isLessThan(1e-4);

        // The cross-fade is what hides the per-window edge effects: a plain average of the overlapping windows does
        // not.
        assertThat(maxError(offline, plainAverage(signal, filter), edge, signal.length - edge))
                .isGreaterThan(1e-2);
    }

    @Test
    void noSeamAtChunkBoundaries() {
        // A model whose gain differs from window to window (as a real enhancer's does): the cross-fade must glide
        // between them instead of jumping where one window's output is cut over to the next. The DC offset makes a
        // jump visible wherever it happens (a bare sine would hide it at its zero crossings).
        int hop = 16_000;
        float[] signal = TestSignals.sine(6 * hop + 500, 37, 0.25);
        for (int n = 0; n < signal.length; n++) {
            signal[n] += 0.25f;
        }
        BiFunction<Integer, float[], float[]> model = (i, x) -> scale(x, i % 2 == 0 ? 0.8f : 1.2f);
        double smoothStep = 0.25 * 2 * Math.PI * 37 / TestSignals.RATE; // steepest step of the input itself
        float[] out = stream(signal, 48_000, hop, 32_000, model, Set.of());
        assertThat(maxStep(out, 1, out.length)).isLessThan(1.5 * smoothStep);
        for (int boundary = hop; boundary < out.length; boundary += hop) {
            assertThat(maxStep(out, boundary, boundary + 1)).isLessThan(1.5 * smoothStep);
        }

        // Without the cross-fade (equal weights), the gain changes abruptly where a window starts or ends.
        assertThat(maxStep(plainAverage(signal, model), 1, out.length)).isGreaterThan(5 * smoothStep);
    }

    private static double maxStep(float[] x, int from, int to) {
        double max = 0;
        for (int n = from; n < to; n++) {
            max = Math.max(max, Math.abs(x[n] - x[n - 1]));
        }
        return max;
    }

    @Test
    void aFailedWindowIsCoveredByItsNeighbours() {
        float[] signal = TestSignals.voiced(7 * 16_000, 0.4, 13);
        float[] out = stream(signal, 48_000, 16_000, 32_000, (i, x) -> x, Set.of(4));
        assertThat(maxError(signal, out, 0, signal.length)).isLessThan(1e-5);
    }

    @Test
    void audioNoWindowReachedIsSilence() {
        // Windows 3, 4 and 5 all cover [16000, 32000) (start -32000 + 16000 i, 48000 long); with all three failed the
        // hop in the middle has no output at all, while seq and positions stay continuous.
        float[] signal = TestSignals.voiced(8 * 16_000, 0.4, 14);
        float[] out = stream(signal, 48_000, 16_000, 32_000, (i, x) -> x, Set.of(3, 4, 5));
        assertThat(maxError(new float[signal.length], out, 3 * 16_000, 4 * 16_000))
                .isZero();
        assertThat(maxError(signal, out, 0, 2 * 16_000)).isLessThan(1e-5);
        assertThat(maxError(signal, out, 5 * 16_000, signal.length)).isLessThan(1e-5);
    }

    @Test
    void endOfStreamIsAnEmptyChunkWhenEverythingWasAlreadyEmitted() {
        OverlapAdd ola = new OverlapAdd();
        ola.init(100);
        ola.add(0, 100, new float[100], 100);
        assertThat(ola.drain(100)).hasSize(1);
        ola.extendEnd(100); // a final window with no new audio
        List<OverlapAdd.Chunk> last = ola.finish();
        assertThat(last).singleElement().satisfies(c -> {
            assertThat(c.seq()).isEqualTo(1);
            assertThat(c.startSample()).isEqualTo(100);
            assertThat(c.samples()).isEmpty();
            assertThat(c.endOfStream()).isTrue();
        });
    }

    @Test
    void weightsOfShiftedWindowsSumToAConstant() {
        float[] w = OverlapAdd.crossFade(48_000);
        assertThat(w[0]).isPositive();
        for (int n = 0; n < 16_000; n++) {
            assertThat(w[n] + w[n + 16_000] + w[n + 32_000])
                    .isCloseTo(1.5f, org.assertj.core.api.Assertions.within(1e-5f));
        }
    }

    private static float[] fir(double[] taps, float[] x) {
        int centre = taps.length / 2;
        float[] y = new float[x.length];
        for (int n = 0; n < x.length; n++) {
            double acc = 0;
            for (int k = 0; k < taps.length; k++) {
                int i = n + k - centre;
                if (i >= 0 && i < x.length) {
                    acc += taps[k] * x[i];
                }
            }
            y[n] = (float) acc;
        }
        return y;
    }

    private static float[] scale(float[] x, float gain) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * gain;
        }
        return y;
    }

    /** Overlap-add with equal weights: the baseline the cross-fade improves on. */
    private static float[] plainAverage(float[] signal, BiFunction<Integer, float[], float[]> model) {
        double[] sum = new double[signal.length];
        int[] count = new int[signal.length];
        List<Window> windows = windows(signal.length, 48_000, 16_000, 32_000);
        for (int i = 0; i < windows.size(); i++) {
            Window w = windows.get(i);
            float[] y = model.apply(i, cut(signal, w, 48_000));
            for (int n = 0; n < w.valid(); n++) {
                long p = w.start() + n;
                if (p >= 0) {
                    sum[(int) p] += y[n];
                    count[(int) p]++;
                }
            }
        }
        float[] out = new float[signal.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (sum[i] / count[i]);
        }
        return out;
    }
}
