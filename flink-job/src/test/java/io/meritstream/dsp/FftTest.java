package io.meritstream.dsp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class FftTest {

    @Test
    void fftMatchesTheDefinition() {
        int n = 16;
        double[] re = new double[n];
        double[] im = new double[n];
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = Math.sin(i * 0.7) + 0.3 * i;
            re[i] = x[i];
        }
        Fft.transform(re, im);
        for (int k = 0; k < n; k++) {
            double r = 0;
            double m = 0;
            for (int i = 0; i < n; i++) {
                r += x[i] * Math.cos(-2 * Math.PI * k * i / n);
                m += x[i] * Math.sin(-2 * Math.PI * k * i / n);
            }
            assertThat(re[k]).isCloseTo(r, within(1e-9));
            assertThat(im[k]).isCloseTo(m, within(1e-9));
        }
    }

    @Test
    void rejectsLengthsThatAreNotPowersOfTwo() {
        assertThatThrownBy(() -> Fft.transform(new double[12], new double[12]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("power of two, got 12");
    }
}
