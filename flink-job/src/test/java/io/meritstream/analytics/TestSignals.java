package io.meritstream.analytics;

import java.util.Random;

/** Synthetic signals for the analytics tests (16 kHz). */
final class TestSignals {
    static final int RATE = 16_000;

    private TestSignals() {}

    /**
     * A voiced, speech-like signal: a harmonic series on a gliding fundamental (110..170 Hz) with a 1/k spectral
     * tilt and a slow syllable-rate amplitude envelope, peak about {@code amplitude}.
     */
    static float[] voiced(int samples, double amplitude, long seed) {
        Random random = new Random(seed);
        double phase0 = random.nextDouble() * 2 * Math.PI;
        float[] x = new float[samples];
        double phase = 0;
        for (int n = 0; n < samples; n++) {
            double t = (double) n / RATE;
            double f0 = 140 + 30 * Math.sin(2 * Math.PI * 0.7 * t + phase0);
            phase += 2 * Math.PI * f0 / RATE;
            double v = 0;
            for (int k = 1; k <= 25 && k * f0 < 7000; k++) {
                v += Math.sin(k * phase) / k;
            }
            double envelope = 0.75 + 0.25 * Math.sin(2 * Math.PI * 4 * t);
            x[n] = (float) (amplitude * 0.55 * envelope * v);
        }
        return x;
    }

    /** Gaussian white noise with the given RMS level in dBFS. */
    static float[] whiteNoise(int samples, double rmsDb, long seed) {
        Random random = new Random(seed);
        double sigma = Math.pow(10, rmsDb / 20);
        float[] x = new float[samples];
        for (int n = 0; n < samples; n++) {
            x[n] = (float) (sigma * random.nextGaussian());
        }
        return x;
    }

    static float[] sine(int samples, double frequency, double amplitude) {
        float[] x = new float[samples];
        for (int n = 0; n < samples; n++) {
            x[n] = (float) (amplitude * Math.sin(2 * Math.PI * frequency * n / RATE));
        }
        return x;
    }

    static double rmsDb(float[] x) {
        double e = 0;
        for (float v : x) {
            e += v * v;
        }
        return 10 * Math.log10(e / x.length);
    }

    /** Brown (random-walk, -6 dB per octave) noise with the given RMS level in dBFS. */
    static float[] brownNoise(int samples, double rmsDb, long seed) {
        Random random = new Random(seed);
        double[] walk = new double[samples];
        double v = 0;
        double sumSquares = 0;
        for (int n = 0; n < samples; n++) {
            v = 0.995 * v + random.nextGaussian(); // leaky, so it stays bounded
            walk[n] = v;
            sumSquares += v * v;
        }
        double gain = Math.pow(10, rmsDb / 20) / Math.sqrt(sumSquares / samples);
        float[] x = new float[samples];
        for (int n = 0; n < samples; n++) {
            x[n] = (float) (gain * walk[n]);
        }
        return x;
    }

    /** Mains hum: the fundamental and its odd harmonics up to 1 kHz, 1/k amplitudes, RMS level in dBFS. */
    static float[] hum(int samples, double mainsHz, double rmsDb) {
        float[] x = new float[samples];
        double sumSquares = 0;
        for (int n = 0; n < samples; n++) {
            double v = 0;
            for (int k = 1; k * mainsHz <= 1000; k += 2) {
                v += Math.sin(2 * Math.PI * k * mainsHz * n / RATE) / k;
            }
            x[n] = (float) v;
            sumSquares += v * v;
        }
        double gain = Math.pow(10, rmsDb / 20) / Math.sqrt(sumSquares / samples);
        for (int n = 0; n < samples; n++) {
            x[n] *= (float) gain;
        }
        return x;
    }
}
