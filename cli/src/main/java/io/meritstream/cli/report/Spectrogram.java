package io.meritstream.cli.report;

import io.meritstream.dsp.Fft;

/**
 * Short-time Fourier transform magnitudes in dB, for plotting: Hann window, radix-2 FFT. Frames are centred on {@code
 * t = i * hop} with the signal zero-padded at both ends.
 */
public final class Spectrogram {
    private final int fftSize;
    private final int hop;
    private final int sampleRate;
    private final float[][] db;

    private Spectrogram(int fftSize, int hop, int sampleRate, float[][] db) {
        this.fftSize = fftSize;
        this.hop = hop;
        this.sampleRate = sampleRate;
        this.db = db;
    }

    /**
     * @param fftSize a power of two
     * @return {@code frames x (fftSize/2 + 1)} magnitudes in dB relative to a full-scale sine
     */
    public static Spectrogram compute(float[] samples, int sampleRate, int fftSize, int hop) {
        if (Integer.bitCount(fftSize) != 1 || fftSize < 4) {
            throw new IllegalArgumentException("fftSize must be a power of two >= 4, was " + fftSize);
        }
        if (hop < 1) {
            throw new IllegalArgumentException("hop must be >= 1, was " + hop);
        }
        double[] window = new double[fftSize];
        double windowSum = 0;
        for (int i = 0; i < fftSize; i++) {
            window[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / fftSize);
            windowSum += window[i];
        }
        // A full-scale sine peaks at windowSum/2 in its bin: that is 0 dB.
        double reference = windowSum / 2;
        int frames = samples.length / hop + 1;
        int bins = fftSize / 2 + 1;
        float[][] db = new float[frames][bins];
        double[] re = new double[fftSize];
        double[] im = new double[fftSize];
        for (int f = 0; f < frames; f++) {
            int start = f * hop - fftSize / 2;
            for (int i = 0; i < fftSize; i++) {
                int index = start + i;
                re[i] = index >= 0 && index < samples.length ? samples[index] * window[i] : 0;
                im[i] = 0;
            }
            Fft.transform(re, im);
            for (int k = 0; k < bins; k++) {
                double magnitude = Math.hypot(re[k], im[k]) / reference;
                db[f][k] = (float) (20 * Math.log10(magnitude + 1e-10));
            }
        }
        return new Spectrogram(fftSize, hop, sampleRate, db);
    }

    public float[][] db() {
        return db;
    }

    public int frames() {
        return db.length;
    }

    public int bins() {
        return fftSize / 2 + 1;
    }

    public double frameSeconds() {
        return hop / (double) sampleRate;
    }

    public double nyquistHz() {
        return sampleRate / 2.0;
    }

    public float maxDb() {
        float max = Float.NEGATIVE_INFINITY;
        for (float[] frame : db) {
            for (float value : frame) {
                max = Math.max(max, value);
            }
        }
        return max;
    }
}
