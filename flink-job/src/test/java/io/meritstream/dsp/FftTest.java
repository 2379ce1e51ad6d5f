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
    void aPlanMatchesTheDefinitionForEveryLength() {
        java.util.Random random = new java.util.Random(3);
        for (int n = 2; n <= 1024; n <<= 1) {
            double[] x = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = random.nextGaussian();
                y[i] = random.nextGaussian();
            }
            double[] re = x.clone();
            double[] im = y.clone();
            new FftPlan(n).transform(re, im);
            for (int k = 0; k < n; k++) {
                double r = 0;
                double m = 0;
                for (int i = 0; i < n; i++) {
                    double c = Math.cos(-2 * Math.PI * k * i / n);
                    double s = Math.sin(-2 * Math.PI * k * i / n);
                    r += x[i] * c - y[i] * s;
                    m += x[i] * s + y[i] * c;
                }
                assertThat(re[k]).as("n=%d re[%d]", n, k).isCloseTo(r, within(1e-9));
                assertThat(im[k]).as("n=%d im[%d]", n, k).isCloseTo(m, within(1e-9));
            }
        }
        assertThatThrownBy(() -> new FftPlan(12)).hasMessageContaining("power of two >= 2, got 12");
    }

    @Test
    void rejectsLengthsThatAreNotPowersOfTwo() {
        assertThatThrownBy(() -> Fft.transform(new double[12], new double[12]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("power of two, got 12");
    }
}
