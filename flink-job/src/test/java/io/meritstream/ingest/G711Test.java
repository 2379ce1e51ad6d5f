package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class G711Test {

    @Test
    void muLawKnownCodePoints() {
        // ITU-T G.711 Table 2a: 0xFF and 0x7F are the two zeros, 0x80 / 0x00 the extremes (±8031 in 14 bits, ×4).
        assertThat(G711.ulawToLinear(0xFF)).isEqualTo((short) 0);
        assertThat(G711.ulawToLinear(0x7F)).isEqualTo((short) 0);
        assertThat(G711.ulawToLinear(0x80)).isEqualTo((short) 32124);
        assertThat(G711.ulawToLinear(0x00)).isEqualTo((short) -32124);
        // First step of the smallest segment: decision value 1 of 14-bit magnitude → 2 (×4 = 8).
        assertThat(G711.ulawToLinear(0xFE)).isEqualTo((short) 8);
        assertThat(G711.ulawToLinear(0x7E)).isEqualTo((short) -8);
        // Segment 4, step 0: 14-bit decision range 479..511 reconstructs to 495 → 1980 in 16 bits.
        assertThat(G711.ulawToLinear(0xBF)).isEqualTo((short) 1980);
        assertThat(G711.ulawToLinear(0x3F)).isEqualTo((short) -1980);
    }

    @Test
    void aLawKnownCodePoints() {
        // ITU-T G.711 Table 1a with even-bit inversion: 0xD5 / 0x55 are the smallest magnitudes (±1 in 13 bits, ×8).
        assertThat(G711.alawToLinear(0xD5)).isEqualTo((short) 8);
        assertThat(G711.alawToLinear(0x55)).isEqualTo((short) -8);
        assertThat(G711.alawToLinear(0xAA)).isEqualTo((short) 32256);
        assertThat(G711.alawToLinear(0x2A)).isEqualTo((short) -32256);
        assertThat(G711.alawToLinear(0xD4)).isEqualTo((short) 24);
    }

    @Test
    void everyCodeRoundTripsThroughLinear() {
        for (int code = 0; code < 256; code++) {
            byte expectedMu = (byte) (code == 0x7F ? 0xFF : code); // μ-law's negative zero encodes as positive zero
            assertThat(G711.linearToUlaw(G711.ulawToLinear(code)))
                    .as("μ-law %02X", code)
                    .isEqualTo(expectedMu);
            assertThat(G711.linearToAlaw(G711.alawToLinear(code)))
                    .as("A-law %02X", code)
                    .isEqualTo((byte) code);
        }
    }

    @Test
    void linearRoundTripStaysWithinHalfAQuantisationStep() {
        for (int pcm = -32768; pcm <= 32767; pcm += 7) {
            int mu = G711.ulawToLinear(G711.linearToUlaw(pcm));
            int a = G711.alawToLinear(G711.linearToAlaw(pcm));
            // Logarithmic steps: at most 1/16 of the value (+ the smallest step) away, 2x margin for clipping at ends.
            int clipped = Math.max(-32124, Math.min(32124, pcm));
            assertThat(Math.abs(mu - clipped)).as("μ-law %d", pcm).isLessThanOrEqualTo(Math.abs(pcm) / 16 + 16);
            assertThat(Math.abs(a - pcm)).as("A-law %d", pcm).isLessThanOrEqualTo(Math.abs(pcm) / 16 + 16);
        }
    }

    @Test
    void monotonicInTheCode() {
        // Within each sign, higher segment/step codes decode to larger magnitudes: catches swapped nibbles.
        for (int code = 0x81; code <= 0x8F; code++) {
            assertThat(Math.abs(G711.ulawToLinear(code))).isLessThan(Math.abs(G711.ulawToLinear(code - 1)));
        }
    }
}
