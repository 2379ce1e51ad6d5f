package io.meritstream.ingest;

import io.meritstream.avro.AudioEncoding;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Payload bytes to float samples in [-1, 1] at the payload's own rate. Stateless. */
public final class SampleDecoder {
    private SampleDecoder() {}

    private static final float PCM16_SCALE = 1f / 32768f;

    /**
     * Bytes per sample of an encoding, or 0 for one this job cannot decode ({@code UNKNOWN}: a format added by a newer
     * writer).
     */
    public static int bytesPerSample(AudioEncoding encoding) {
        return switch (encoding) {
            case PCM_S16LE -> 2;
            case PCM_MULAW, PCM_ALAW -> 1;
            case FLOAT32LE -> 4;
            default -> 0;
        };
    }

    /**
     * Decodes the remaining bytes of {@code payload} (its position is not changed). The caller has checked that the
     * encoding is supported and the length is a whole number of samples.
     */
    public static float[] decode(AudioEncoding encoding, ByteBuffer payload) {
        ByteBuffer bytes = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int width = bytesPerSample(encoding);
        if (width == 0) {
            throw new IllegalArgumentException("cannot decode encoding " + encoding);
        }
        float[] samples = new float[bytes.remaining() / width];
        switch (encoding) {
            case PCM_S16LE -> {
                for (int i = 0; i < samples.length; i++) {
                    samples[i] = bytes.getShort() * PCM16_SCALE;
                }
            }
            case PCM_MULAW -> {
                for (int i = 0; i < samples.length; i++) {
                    samples[i] = G711.ulawToLinear(bytes.get()) * PCM16_SCALE;
                }
            }
            case PCM_ALAW -> {
                for (int i = 0; i < samples.length; i++) {
                    samples[i] = G711.alawToLinear(bytes.get()) * PCM16_SCALE;
                }
            }
            case FLOAT32LE -> {
                for (int i = 0; i < samples.length; i++) {
                    samples[i] = bytes.getFloat();
                }
            }
            default -> throw new IllegalArgumentException("cannot decode encoding " + encoding);
        }
        return samples;
    }

    /**
     * Largest magnitude a FLOAT32LE sample may have: full scale is 1, and 16 (+24 dB) leaves headroom for a float
     * producer's overs while rejecting values (1e30, say) that no recording holds and that overflow in the model.
     */
    public static final float MAX_FLOAT_MAGNITUDE = 16f;

    /** Index of the first sample beyond ±{@link #MAX_FLOAT_MAGNITUDE}, or -1 (NaN compares false: see firstNonFinite). */
    public static int firstOutOfRange(float[] samples) {
        for (int i = 0; i < samples.length; i++) {
            if (Math.abs(samples[i]) > MAX_FLOAT_MAGNITUDE) {
                return i;
            }
        }
        return -1;
    }

    /** Index of the first NaN or infinite sample, or -1 when every sample is finite. */
    public static int firstNonFinite(float[] samples) {
        for (int i = 0; i < samples.length; i++) {
            if (!Float.isFinite(samples[i])) {
                return i;
            }
        }
        return -1;
    }
}
