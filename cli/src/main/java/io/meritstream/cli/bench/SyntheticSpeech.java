package io.meritstream.cli.bench;

import java.util.SplittableRandom;

/**
 * Speech-like test audio at 16 kHz: a harmonic voice whose pitch glides between 100 and 250 Hz, switched on and off at
 * a syllable rate of about 4 Hz with pauses, plus background noise. Deterministic per seed. Speech-like rather than
 * silence or a pure tone so that the speech detector and the experts see the kind of input they see in production
 * (routing, and so the sparse model's cost, depends on the input).
 */
public final class SyntheticSpeech {
    public static final int SAMPLE_RATE = 16_000;

    private SyntheticSpeech() {}

    public static float[] generate(int samples, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] out = new float[samples];
        double phase = 0;
        double f0 = 100 + random.nextDouble() * 150;
        double target = f0;
        int syllableLeft = 0;
        boolean voiced = false;
        for (int i = 0; i < samples; i++) {
            if (syllableLeft-- <= 0) {
                voiced = random.nextDouble() < 0.7;
                syllableLeft = SAMPLE_RATE / 8 + random.nextInt(SAMPLE_RATE / 4);
                target = 100 + random.nextDouble() * 150;
            }
            f0 += (target - f0) * 2e-4;
            phase += 2 * Math.PI * f0 / SAMPLE_RATE;
            double v = 0;
            if (voiced) {
                for (int h = 1; h <= 8; h++) {
                    v += Math.sin(h * phase) / h;
                }
            }
            double noise = random.nextDouble() * 2 - 1;
            out[i] = (float) (0.2 * v + 0.02 * noise);
        }
        return out;
    }

    /** Little-endian 16-bit PCM of {@code samples} (clipped to [-1, 1]). */
    public static byte[] pcm16(float[] samples, int from, int count) {
        byte[] bytes = new byte[count * 2];
        for (int i = 0; i < count; i++) {
            float s = Math.max(-1f, Math.min(1f, samples[from + i]));
            int v = Math.round(s * 32767f);
            bytes[2 * i] = (byte) v;
            bytes[2 * i + 1] = (byte) (v >> 8);
        }
        return bytes;
    }
}
