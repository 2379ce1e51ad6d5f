package io.meritstream.analytics;

/** Float samples in [-1, 1] to PCM signed 16-bit little-endian, clipping what lies outside. */
final class Pcm16 {
    private Pcm16() {}

    /** Encodes {@code samples}; returns the number of clipped samples through {@code clipped[0]}. */
    static byte[] encode(float[] samples, int[] clipped) {
        byte[] out = new byte[samples.length * 2];
        int clips = 0;
        for (int i = 0; i < samples.length; i++) {
            float x = samples[i];
            if (x > 1f || x < -1f || Float.isNaN(x)) {
                clips++;
                x = Float.isNaN(x) ? 0f : Math.max(-1f, Math.min(1f, x));
            }
            int v = Math.round(x * 32767f);
            out[2 * i] = (byte) v;
            out[2 * i + 1] = (byte) (v >> 8);
        }
        clipped[0] = clips;
        return out;
    }

    static float[] decode(byte[] pcm) {
        float[] out = new float[pcm.length / 2];
        for (int i = 0; i < out.length; i++) {
            short v = (short) ((pcm[2 * i] & 0xff) | (pcm[2 * i + 1] << 8));
            out[i] = v / 32767f;
        }
        return out;
    }
}
