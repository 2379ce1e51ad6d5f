package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The polyphase resampler through {@link ResamplerState}, the exact code path of {@link FrameResampler}. */
class ResamplerTest {
    private static final int OUT = DecodedFrame.SAMPLE_RATE;
    /** Skip this much at both ends of a signal when measuring: the tone starts and stops abruptly there. */
    private static final int EDGE = OUT / 50;

    @ParameterizedTest
    @ValueSource(ints = {8_000, 22_050, 44_100, 48_000})
    void oneKilohertzToneKeepsFrequencyLevelAndTiming(int rate) {
        double amplitude = 0.5;
        float[] input = tone(rate, 1000, amplitude, rate); // 1 s
        float[] output = resampleWhole(input, rate);

        assertThat(output).hasSize((int) Math.ceil(input.length * (double) OUT / rate));
        // Compared sample by sample with the ideal 1 kHz tone at 16 kHz: this checks frequency, phase (no delay) and
        // level at once, and that nothing else (images, aliases) is in the output.
        double[] ideal = new double[output.length];
        for (int k = 0; k < ideal.length; k++) {
            ideal[k] = amplitude * Math.sin(2 * Math.PI * 1000 * k / OUT);
        }
        double errorDb = 10 * Math.log10(energy(difference(output, ideal)) / energy(ideal, EDGE));
        assertThat(errorDb).as("error vs ideal tone at %d Hz, dB", rate).isLessThan(-60);

        double levelErrorDb = 20 * Math.log10(rms(output) / (amplitude / Math.sqrt(2)));
        assertThat(Math.abs(levelErrorDb)).as("level error at %d Hz, dB", rate).isLessThan(0.1);
        System.out.printf(
                "resampler %5d -> 16000: 1 kHz error vs ideal %.1f dB, level error %.5f dB%n",
                rate, errorDb, levelErrorDb);
    }

    @Test
    void toneThatWouldFoldOntoSevenKilohertzIsSuppressed() {
        // 7 kHz itself is inside the 8 kHz output band and passes (next test). What an anti-aliasing filter must stop
        // is
        // 9 kHz at 48 kHz input, which plain decimation by 3 folds onto 7 kHz (16 − 9).
        float[] input = tone(48_000, 9_000, 0.5, 48_000);
        double attenuationDb = 20 * Math.log10(rms(input) / rms(resampleWhole(input, 48_000)));
        assertThat(attenuationDb).isGreaterThanOrEqualTo(40);
        // The same tone decimated without the filter really does land on 7 kHz at full level: the test can fail.
        float[] naive = new float[input.length / 3];
        for (int k = 0; k < naive.length; k++) {
            naive[k] = input[3 * k];
        }
        assertThat(20 * Math.log10(rms(input) / rms(naive))).isLessThan(1);
        System.out.printf("resampler 48000 -> 16000: 9 kHz (folds onto 7 kHz) attenuated %.1f dB%n", attenuationDb);
    }

    @Test
    void sevenKilohertzToneIsInBandAndKeepsItsLevel() {
        float[] input = tone(48_000, 7_000, 0.5, 48_000);
        double levelDb = 20 * Math.log10(rms(resampleWhole(input, 48_000)) / rms(input));
        assertThat(Math.abs(levelDb)).isLessThan(0.1);
    }

    @ParameterizedTest
    @ValueSource(ints = {22_050, 44_100, 48_000})
    void everythingAboveTheOutputNyquistIsSuppressed(int rate) {
        double worst = Double.MAX_VALUE;
        for (double f = 8_100; f < rate / 2.0; f += 700) {
            float[] input = tone(rate, f, 0.5, rate / 2);
            double attenuationDb = 20 * Math.log10(rms(input) / rms(resampleWhole(input, rate)));
            assertThat(attenuationDb).as("%.0f Hz at %d Hz input", f, rate).isGreaterThan(60);
            worst = Math.min(worst, attenuationDb);
        }
        System.out.printf("resampler %5d -> 16000: worst stop-band attenuation %.1f dB%n", rate, worst);
    }

    @Test
    void upsamplingFromEightKilohertzLeavesNoImage() {
        // 3 kHz at 8 kHz: zero-stuffing would leave an image at 5 kHz; the comparison with the ideal tone catches it.
        float[] output = resampleWhole(tone(8_000, 3_000, 0.5, 8_000), 8_000);
        double[] ideal = new double[output.length];
        for (int k = 0; k < ideal.length; k++) {
            ideal[k] = 0.5 * Math.sin(2 * Math.PI * 3000 * k / OUT);
        }
        assertThat(10 * Math.log10(energy(difference(output, ideal)) / energy(ideal, EDGE)))
                .isLessThan(-60);
    }

    @ParameterizedTest
    @ValueSource(ints = {8_000, 22_050, 44_100, 48_000})
    void toneSplitAcrossManyFramesResamplesAsInOnePiece(int rate) {
        float[] input = tone(rate, 1000, 0.5, rate);
        float[] whole = resampleWhole(input, rate);
        for (int frameLength : new int[] {rate / 50, 137, 7}) { // 20 ms frames, odd sizes, frames shorter than taps
            List<DecodedFrame> frames = resampleInFrames(input, rate, frameLength);
            float[] joined = concat(frames);
            assertThat(joined).as("%d-sample frames", frameLength).hasSameSizeAs(whole);
            double maxDifference = 0;
            for (int i = 0; i < whole.length; i++) {
                maxDifference = Math.max(maxDifference, Math.abs(joined[i] - whole[i]));
            }
            assertThat(maxDifference)
                    .as("%d-sample frames at %d Hz", frameLength, rate)
                    .isLessThan(1e-6);
            // Every frame gets the output samples of its own input span, so windows line up with seq numbers.
            long inputEnd = 0;
            long outputEnd = 0;
            for (int f = 0; f < frames.size(); f++) {
                inputEnd = Math.min(input.length, inputEnd + frameLength);
                long expectedEnd = (long) Math.ceil(inputEnd * (double) OUT / rate);
                assertThat(frames.get(f).seq).isEqualTo(f);
                assertThat(frames.get(f).samples.length).isEqualTo((int) (expectedEnd - outputEnd));
                outputEnd = expectedEnd;
            }
            assertThat(frames.get(frames.size() - 1).endOfStream).isTrue();
        }
    }

    @Test
    void framesResampledAloneWouldClickAtBoundaries() {
        // Why the resampler keeps state: the same frames resampled independently differ from the whole at each
        // boundary — the artefact the streaming state removes.
        int rate = 48_000;
        float[] input = tone(rate, 1000, 0.5, rate);
        float[] whole = resampleWhole(input, rate);
        List<Float> alone = new ArrayList<>();
        for (int start = 0; start < input.length; start += 1001) {
            float[] frame = java.util.Arrays.copyOfRange(input, start, Math.min(input.length, start + 1001));
            for (float v : resampleWhole(frame, rate)) {
                alone.add(v);
            }
        }
        double maxDifference = 0;
        for (int i = 0; i < whole.length; i++) {
            maxDifference = Math.max(maxDifference, Math.abs(alone.get(i) - whole[i]));
        }
        assertThat(maxDifference).isGreaterThan(0.01); // vs < 1e-6 with the state carried over
    }

    @Test
    void designedRatiosAreTheRationalOnes() {
        assertThat(new int[] {
                    PolyphaseFilter.of(48_000, OUT).up(),
                    PolyphaseFilter.of(48_000, OUT).down()
                })
                .containsExactly(1, 3);
        assertThat(new int[] {
                    PolyphaseFilter.of(44_100, OUT).up(),
                    PolyphaseFilter.of(44_100, OUT).down()
                })
                .containsExactly(160, 441);
        assertThat(new int[] {
                    PolyphaseFilter.of(22_050, OUT).up(),
                    PolyphaseFilter.of(22_050, OUT).down()
                })
                .containsExactly(320, 441);
        assertThat(new int[] {
                    PolyphaseFilter.of(8_000, OUT).up(),
                    PolyphaseFilter.of(8_000, OUT).down()
                })
                .containsExactly(2, 1);
    }

    // --- helpers ---

    static float[] tone(int rate, double frequency, double amplitude, int samples) {
        float[] x = new float[samples];
        for (int i = 0; i < samples; i++) {
            x[i] = (float) (amplitude * Math.sin(2 * Math.PI * frequency * i / rate));
        }
        return x;
    }

    static float[] resampleWhole(float[] input, int rate) {
        ResamplerState state = ResamplerState.startAt(frame(0, rate, input, true));
        state.append(frame(0, rate, input, true), 0);
        return concat(state.drain(true));
    }

    static List<DecodedFrame> resampleInFrames(float[] input, int rate, int frameLength) {
        List<DecodedFrame> out = new ArrayList<>();
        ResamplerState state = null;
        long seq = 0;
        for (int start = 0; start < input.length; start += frameLength) {
            float[] samples = java.util.Arrays.copyOfRange(input, start, Math.min(input.length, start + frameLength));
            boolean last = start + frameLength >= input.length;
            NativeFrame frame = frame(seq++, rate, samples, last);
            if (state == null) {
                state = ResamplerState.startAt(frame);
            }
            assertThat(state.continuesWith(frame)).isTrue();
            state.append(frame, 0);
            out.addAll(state.drain(last));
        }
        return out;
    }

    static NativeFrame frame(long seq, int rate, float[] samples, boolean endOfStream) {
        return new NativeFrame("s", "mono", seq, seq * 20, rate, samples, endOfStream, 0);
    }

    static float[] concat(List<DecodedFrame> frames) {
        int n = frames.stream().mapToInt(f -> f.samples.length).sum();
        float[] all = new float[n];
        int at = 0;
        for (DecodedFrame f : frames) {
            System.arraycopy(f.samples, 0, all, at, f.samples.length);
            at += f.samples.length;
        }
        return all;
    }

    /** Output minus ideal over the middle, away from the abrupt start and end. */
    private static double[] difference(float[] output, double[] ideal) {
        double[] d = new double[output.length - 2 * EDGE];
        for (int i = 0; i < d.length; i++) {
            d[i] = output[i + EDGE] - ideal[i + EDGE];
        }
        return d;
    }

    private static double energy(double[] x) {
        return energy(x, 0);
    }

    private static double energy(double[] x, int edge) {
        double sum = 0;
        for (int i = edge; i < x.length - edge; i++) {
            sum += x[i] * x[i];
        }
        return sum;
    }

    /** RMS over the middle, away from the abrupt start and end. */
    private static double rms(float[] x) {
        int edge = x.length / 10;
        double sum = 0;
        for (int i = edge; i < x.length - edge; i++) {
            sum += (double) x[i] * x[i];
        }
        return Math.sqrt(sum / (x.length - 2 * edge));
    }
}
