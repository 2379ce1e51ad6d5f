package io.meritstream.analytics;

import io.meritstream.dsp.Fft;

/**
 * Frame-level speech activity on the enhanced audio: a frame is speech when it is loud enough (RMS level at least
 * the energy threshold) and tonal enough (spectral flatness at most the maximum). Energy alone would call steady
 * noise speech whenever the enhancer leaves some in; voiced speech has a harmonic, far from flat, spectrum while noise
 * is close to flat. The window's speech ratio is the fraction of its whole frames that are speech.
 *
 * <p>Holds scratch buffers: one instance per operator instance, not thread-safe.
 */
public final class SpeechActivity {
    private final int frameSamples;
    private final double energyThreshold; // mean square, linear
    private final double maxFlatness;
    private final int fftSize;
    private final double[] window;
    private final double[] re;
    private final double[] im;

    public SpeechActivity(int frameSamples, double energyThresholdDb, double maxFlatness) {
        if (frameSamples < 16) {
            throw new IllegalArgumentException("frame must be at least 16 samples, got " + frameSamples);
        }
        this.frameSamples = frameSamples;
        this.energyThreshold = Math.pow(10, energyThresholdDb / 10);
        this.maxFlatness = maxFlatness;
        this.fftSize = Integer.highestOneBit(frameSamples - 1) << 1;
        this.window = new double[frameSamples];
        for (int n = 0; n < frameSamples; n++) {
            window[n] = 0.5 - 0.5 * Math.cos(2 * Math.PI * n / (frameSamples - 1));
        }
        this.re = new double[fftSize];
        this.im = new double[fftSize];
    }

    public static SpeechActivity of(AnalyticsConfig config, int sampleRate) {
        return new SpeechActivity(
                config.vadFrameMs * sampleRate / 1000, config.vadEnergyThresholdDb, config.vadMaxSpectralFlatness);
    }

    /** Fraction of the whole frames in {@code samples[from, to)} judged speech; 0 when there is no whole frame. */
    public float speechRatio(float[] samples, int from, int to) {
        int frames = Math.max(0, (to - from) / frameSamples);
        if (frames == 0) {
            return 0f;
        }
        int speech = 0;
        for (int f = 0; f < frames; f++) {
            if (isSpeech(samples, from + f * frameSamples)) {
                speech++;
            }
        }
        return (float) speech / frames;
    }

    boolean isSpeech(float[] samples, int offset) {
        double energy = 0;
        for (int n = 0; n < frameSamples; n++) {
            double x = samples[offset + n];
            energy += x * x;
        }
        energy /= frameSamples;
        if (!(energy >= energyThreshold)) {
            return false;
        }
        return maxFlatness >= 1 || spectralFlatness(samples, offset) <= maxFlatness;
    }

    /** Geometric over arithmetic mean of the Hann-windowed power spectrum, DC and Nyquist excluded. */
    double spectralFlatness(float[] samples, int offset) {
        for (int n = 0; n < fftSize; n++) {
            re[n] = n < frameSamples ? samples[offset + n] * window[n] : 0;
            im[n] = 0;
        }
        Fft.transform(re, im);
        int bins = fftSize / 2 - 1;
        double logSum = 0;
        double sum = 0;
        for (int k = 1; k <= bins; k++) {
            double p = re[k] * re[k] + im[k] * im[k] + 1e-20;
            logSum += Math.log(p);
            sum += p;
        }
        return Math.exp(logSum / bins) / (sum / bins);
    }
}
