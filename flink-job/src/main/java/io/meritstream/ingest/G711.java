package io.meritstream.ingest;

/**
 * ITU-T G.711 companding, μ-law and A-law, as in the ITU reference tables (and Sun's widely used g711.c, which
 * implements them bit for bit). Decoding goes through 256-entry tables built once; encoders are here so that tools and
 * tests can produce telephony frames.
 */
public final class G711 {
    private G711() {}

    private static final int ULAW_BIAS = 0x84;
    private static final int ULAW_CLIP = 8159;
    private static final int[] ULAW_SEGMENT_END = {0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF};
    private static final int[] ALAW_SEGMENT_END = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};

    private static final short[] ULAW_TO_LINEAR = new short[256];
    private static final short[] ALAW_TO_LINEAR = new short[256];

    static {
        for (int code = 0; code < 256; code++) {
            ULAW_TO_LINEAR[code] = (short) computeUlawToLinear(code);
            ALAW_TO_LINEAR[code] = (short) computeAlawToLinear(code);
        }
    }

    /** μ-law code (0..255) to 16-bit linear PCM; the range is ±32124. */
    public static short ulawToLinear(int code) {
        return ULAW_TO_LINEAR[code & 0xFF];
    }

    /** A-law code (0..255, even bits already as transmitted) to 16-bit linear PCM; the range is ±32256. */
    public static short alawToLinear(int code) {
        return ALAW_TO_LINEAR[code & 0xFF];
    }

    /** 16-bit linear PCM to a μ-law code. */
    public static byte linearToUlaw(int pcm) {
        int value = pcm >> 2;
        int mask;
        if (value < 0) {
            value = -value;
            mask = 0x7F;
        } else {
            mask = 0xFF;
        }
        if (value > ULAW_CLIP) {
            value = ULAW_CLIP;
        }
        value += ULAW_BIAS >> 2;
        int segment = segment(value, ULAW_SEGMENT_END);
        if (segment >= 8) {
            return (byte) (0x7F ^ mask);
        }
        int code = (segment << 4) | ((value >> (segment + 1)) & 0x0F);
        return (byte) (code ^ mask);
    }

    /** 16-bit linear PCM to an A-law code (with the even-bit inversion of the wire format). */
    public static byte linearToAlaw(int pcm) {
        int value = pcm >> 3;
        int mask;
        if (value >= 0) {
            mask = 0xD5;
        } else {
            mask = 0x55;
            value = -value - 1;
        }
        int segment = segment(value, ALAW_SEGMENT_END);
        if (segment >= 8) {
            return (byte) (0x7F ^ mask);
        }
        int code = segment << 4;
        code |= segment < 2 ? (value >> 1) & 0x0F : (value >> segment) & 0x0F;
        return (byte) (code ^ mask);
    }

    private static int computeUlawToLinear(int code) {
        int u = ~code & 0xFF;
        int t = ((u & 0x0F) << 3) + ULAW_BIAS;
        t <<= (u & 0x70) >> 4;
        return (u & 0x80) != 0 ? ULAW_BIAS - t : t - ULAW_BIAS;
    }

    private static int computeAlawToLinear(int code) {
        int a = (code ^ 0x55) & 0xFF;
        int t = (a & 0x0F) << 4;
        int segment = (a & 0x70) >> 4;
        switch (segment) {
            case 0 -> t += 8;
            case 1 -> t += 0x108;
            default -> {
                t += 0x108;
                t <<= segment - 1;
            }
        }
        return (a & 0x80) != 0 ? t : -t;
    }

    private static int segment(int value, int[] segmentEnds) {
        for (int i = 0; i < segmentEnds.length; i++) {
            if (value <= segmentEnds[i]) {
                return i;
            }
        }
        return segmentEnds.length;
    }
}
