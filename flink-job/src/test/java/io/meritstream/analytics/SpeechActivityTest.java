package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SpeechActivityTest {
    private static final int WINDOW = 48_000;
    private final SpeechActivity vad = SpeechActivity.of(AnalyticsConfig.defaults(), TestSignals.RATE);

    @Test
    void silenceHasNoSpeech() {
        assertThat(speechRatio(new float[WINDOW], 0, WINDOW)).isZero();
    }

    @Test
    void voicedSignalIsSpeech() {
        float[] voiced = TestSignals.voiced(WINDOW, 0.3, 1);
        assertThat(speechRatio(voiced, 0, WINDOW)).isGreaterThan(0.95f);
    }

    @Test
    void loudWhiteNoiseIsNotSpeechAlthoughItPassesTheEnergyTest() {
        float[] noise = TestSignals.whiteNoise(WINDOW, -20, 2);
        assertThat(TestSignals.rmsDb(noise)).isGreaterThan(-45);
        assertThat(speechRatio(noise, 0, WINDOW)).isLessThan(0.05f);
    }

    @Test
    void mainsHumIsNotSpeechAlthoughItIsTonalAndLoudOverTheWholeBand() {
        // 60 Hz with odd harmonics up to 900 Hz falling as 1/k (the corpus's hum generator), at -35 dBFS: loud enough
        // for a whole-band energy test and as tonal as voiced speech, but its speech-band (300-3400 Hz) level is low.
        float[] hum = new float[WINDOW];
        for (int k = 1; k <= 15; k += 2) {
            float[] harmonic = TestSignals.sine(WINDOW, 60.0 * k, 1.0 / k);
            for (int n = 0; n < WINDOW; n++) {
                hum[n] += harmonic[n];
            }
        }
        double gain = Math.pow(10, (-35 - TestSignals.rmsDb(hum)) / 20);
        for (int n = 0; n < WINDOW; n++) {
            hum[n] *= (float) gain;
        }
        assertThat(TestSignals.rmsDb(hum)).isCloseTo(-35, within(0.1));
        assertThat(vad.spectralFlatness(hum, 0)).isLessThan(0.1);
        assertThat(speechRatio(hum, 0, WINDOW)).isZero();
    }

    @Test
    void bandLevelReadsLikeTheRmsLevelOfAnInBandTone() {
        float[] tone = TestSignals.sine(WINDOW, 1000, 0.1); // RMS 0.1 / sqrt(2) = -23.0 dBFS
        assertThat(vad.bandLevelDb(tone, 0)).isCloseTo(TestSignals.rmsDb(tone), within(0.5));
        float[] low = TestSignals.sine(WINDOW, 60, 0.1);
        assertThat(vad.bandLevelDb(low, 0)).isLessThan(TestSignals.rmsDb(low) - 30);
    }

    @Test
    void voicedSignalBelowTheEnergyThresholdIsNotSpeech() {
        float[] quiet = TestSignals.voiced(WINDOW, 0.001, 3);
        assertThat(TestSignals.rmsDb(quiet)).isLessThan(-45);
        assertThat(speechRatio(quiet, 0, WINDOW)).isZero();
    }

    @Test
    void ratioIsTheFractionOfSpeechFrames() {
        float[] half = new float[WINDOW];
        System.arraycopy(TestSignals.voiced(WINDOW / 2, 0.3, 4), 0, half, 0, WINDOW / 2);
        assertThat(speechRatio(half, 0, WINDOW)).isCloseTo(0.5f, within(0.02f));
    }

    @Test
    void onlyTheGivenRangeIsJudged() {
        float[] x = new float[WINDOW];
        System.arraycopy(TestSignals.voiced(16_000, 0.3, 5), 0, x, 32_000, 16_000);
        assertThat(speechRatio(x, 0, 32_000)).isZero();
        assertThat(speechRatio(x, 32_000, WINDOW)).isGreaterThan(0.95f);
        assertThat(speechRatio(x, 0, 100)).as("no whole frame").isZero();
    }

    @Test
    void flatnessSeparatesNoiseFromVoicedFrames() {
        double noise = vad.spectralFlatness(TestSignals.whiteNoise(320, -20, 6), 0);
        double voiced = vad.spectralFlatness(TestSignals.voiced(320, 0.3, 7), 0);
        assertThat(noise).isBetween(0.4, 0.8);
        assertThat(voiced).isLessThan(0.1);
    }

    /**
     * Fraction of the whole frames in {@code samples[from, to)} the rule calls speech, judged as the job does (the
     * energy speech gate); 0 without a whole frame.
     */
    private float speechRatio(float[] samples, int from, int to) {
        int frames = Math.max(0, (to - from) / vad.frameSamples());
        if (frames == 0) {
            return 0f;
        }
        boolean[] speech = new boolean[frames];
        new EnergySpeechGate(vad).judge(samples, from, frames, new float[0], speech);
        int count = 0;
        for (boolean s : speech) {
            count += s ? 1 : 0;
        }
        return (float) count / frames;
    }
}
