package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.inference.BatchOutput;
import org.junit.jupiter.api.Test;

class SyntheticSpeechTest {
    @Test
    void deterministicPerSeedAndInRange() {
        float[] a = SyntheticSpeech.generate(16_000, 3);
        float[] b = SyntheticSpeech.generate(16_000, 3);
        float[] c = SyntheticSpeech.generate(16_000, 4);
        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(c);
        double energy = 0;
        for (float s : a) {
            assertThat(s).isBetween(-1f, 1f);
            energy += s * s;
        }
        assertThat(energy / a.length).isGreaterThan(1e-4); // not silence
    }

    @Test
    void pcm16IsLittleEndianAndClipped() {
        byte[] bytes = SyntheticSpeech.pcm16(new float[] {0f, 1f, -1f, 2f, 0.5f}, 1, 4);
        assertThat(bytes).hasSize(8);
        assertThat(sample(bytes, 0)).isEqualTo(32767);
        assertThat(sample(bytes, 1)).isEqualTo(-32767);
        assertThat(sample(bytes, 2)).isEqualTo(32767); // 2.0 clipped
        assertThat(sample(bytes, 3)).isEqualTo(16384);
    }

    @Test
    void gateAgreementCountsFramesWhereBothTasksChoseTheSameExpert() {
        BatchOutput out =
                new BatchOutput(new float[2][1], new float[2][4], new long[][] {{0, 1, 2, 0}, {1, 1}}, new long[][] {
                    {0, 2, 2, 1}, {1, 0}
                });
        assertThat(OrtBench.gateAgreement(out)).isEqualTo(3.0 / 6.0);
        assertThat(OrtBench.gateAgreement(new BatchOutput(new float[1][1], new float[1][4], null, null)))
                .isNaN();
    }

    private static int sample(byte[] bytes, int i) {
        return (short) ((bytes[2 * i] & 0xFF) | (bytes[2 * i + 1] << 8));
    }
}
