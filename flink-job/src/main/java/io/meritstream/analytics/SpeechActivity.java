package io.meritstream.analytics;

import io.meritstream.dsp.Fft;

/**
 * Frame-level speech activity on the enhanced audio: a frame is speech when it is loud enough in the telephone speech
 * band (its 300-3400 Hz level at least the energy threshold) and tonal enough (spectral flatness at most the maximum).
 * Energy alone would call steady noise speech whenever the enhancer leaves some in; voiced speech has a harmonic, far
 * from flat, spectrum while noise is close to flat. Mains hum is tonal too, so flatness cannot reject it, but its
 * energy sits below 300 Hz: measured on call-01's agent channel (hum at 15 dB SNR), the enhancer's residual during
 * the agent's silence was -45 dBFS over the whole band, right at the threshold, and -53 dBFS in the speech band, while
 * the agent's speech is at -39 dBFS median there.
 *
 * <p>Holds scratch buffers: one instance per operator instance, not thread-safe.
 */
public final class SpeechActivity {
    private static final double BAND_LOW_HZ = 300;
    private static final double BAND_HIGH_HZ = 3400;

    private final int frameSamples;
    private final double energyThreshold; // mean square, linear
    private final double maxFlatness;
    private final int fftSize;
    private final int bandLow; // FFT bins, inclusive
    private final int bandHigh;
    private final double[] window;
    private final double bandPowerToMeanSquare;
    private final double[] re;
    private final double[] im;

    public SpeechActivity(int frameSamples, int sampleRate, double energyThresholdDb, double maxFlatness) {
        if (frameSamples < 16) {
            throw new IllegalArgumentException("frame must be at least 16 samples, got " + frameSamples);
        }
        if (sampleRate < 2 * BAND_HIGH_HZ) {
            throw new IllegalArgumentException(
                    "sample rate must cover the " + BAND_HIGH_HZ + " Hz speech band, got " + sampleRate);
        }
        this.frameSamples = frameSamples;
        this.energyThreshold = Math.pow(10, energyThresholdDb / 10);
        this.maxFlatness = maxFlatness;
        this.fftSize = Integer.highestOneBit(frameSamples - 1) << 1;
        this.bandLow = Math.max(1, (int) Math.ceil(BAND_LOW_HZ * fftSize / sampleRate));
        this.bandHigh = Math.min(fftSize / 2 - 1, (int) Math.floor(BAND_HIGH_HZ * fftSize / sampleRate));
        this.window = new double[frameSamples];
        double windowPower = 0;
        for (int n = 0; n < frameSamples; n++) {
            window[n] = 0.5 - 0.5 * Math.cos(2 * Math.PI * n / (frameSamples - 1));
            windowPower += window[n] * window[n];
        }
        // Parseval over the positive-frequency bins (x2 for the mirrored half), undoing the Hann window's power, so
        // the band level reads like the RMS level of the signal restricted to the band.
        this.bandPowerToMeanSquare = 2.0 / (fftSize * windowPower);
        this.re = new double[fftSize];
        this.im = new double[fftSize];
    }

    public static SpeechActivity of(AnalyticsConfig config, int sampleRate) {
        return new SpeechActivity(
                config.vadFrameMs * sampleRate / 1000,
                sampleRate,
                config.vadEnergyThresholdDb,
                config.vadMaxSpectralFlatness);
    }

    public int frameSamples() {
        return frameSamples;
    }

    boolean isSpeech(float[] samples, int offset) {
        powerSpectrum(samples, offset);
        if (!(bandMeanSquare() >= energyThreshold)) {
            return false;
        }
        return maxFlatness >= 1 || spectralFlatness() <= maxFlatness;
    }

    /** Mean square of the frame restricted to the speech band; needs {@link #powerSpectrum} first. */
    double bandMeanSquare() {
        double power = 0;
        for (int k = bandLow; k <= bandHigh; k++) {
            power += re[k];
        }
        return power * bandPowerToMeanSquare;
    }

    /** Geometric over arithmetic mean of the power spectrum, DC and Nyquist excluded; needs {@link #powerSpectrum}. */
    double spectralFlatness() {
        int bins = fftSize / 2 - 1;
        double logSum = 0;
        double sum = 0;
        for (int k = 1; k <= bins; k++) {
            double p = re[k] + 1e-20;
            logSum += Math.log(p);
            sum += p;
        }
        return Math.exp(logSum / bins) / (sum / bins);
    }

    double spectralFlatness(float[] samples, int offset) {
        powerSpectrum(samples, offset);
        return spectralFlatness();
    }

    double bandLevelDb(float[] samples, int offset) {
        powerSpectrum(samples, offset);
        return 10 * Math.log10(bandMeanSquare() + 1e-30);
    }

    /** Hann-windowed power spectrum of one frame into {@code re[0..fftSize/2]}. */
    private void powerSpectrum(float[] samples, int offset) {
        for (int n = 0; n < fftSize; n++) {
            re[n] = n < frameSamples ? samples[offset + n] * window[n] : 0;
            im[n] = 0;
        }
        Fft.transform(re, im);
        for (int k = 0; k <= fftSize / 2; k++) {
            re[k] = re[k] * re[k] + im[k] * im[k];
        }
    }
}
