package io.meritstream.cli.audio;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.ingest.G711;
import io.meritstream.ingest.SampleDecoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Float samples to the payload bytes of an {@code AudioFrame}: the inverse of the job's {@link SampleDecoder}. G.711
 * companding uses the job's own {@link G711} encoders, so replay and the job cannot drift apart.
 */
public final class FrameEncoder {
    private FrameEncoder() {}

    /**
     * Float in [-1, 1] to 16-bit PCM with the job's scale (32768), rounded and clipped; a sample read from a 16-bit
     * file comes back as the same integer.
     */
    public static short toPcm16(float sample) {
        long value = Math.round(sample * 32768.0);
        return (short) Math.max(Short.MIN_VALUE, Math.min(Short.MAX_VALUE, value));
    }

    /** Encodes {@code samples[from, to)} in {@code encoding} (mono, little-endian where it applies). */
    public static byte[] encode(AudioEncoding encoding, float[] samples, int from, int to) {
        int width = SampleDecoder.bytesPerSample(encoding);
        if (width == 0) {
            throw new IllegalArgumentException("cannot encode " + encoding);
        }
        ByteBuffer out = ByteBuffer.allocate((to - from) * width).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
            float sample = samples[i];
            switch (encoding) {
                case PCM_S16LE -> out.putShort(toPcm16(sample));
                case PCM_MULAW -> out.put(G711.linearToUlaw(toPcm16(sample)));
                case PCM_ALAW -> out.put(G711.linearToAlaw(toPcm16(sample)));
                case FLOAT32LE -> out.putFloat(sample);
                default -> throw new IllegalArgumentException("cannot encode " + encoding);
            }
        }
        return out.array();
    }
}
