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
    void aPlanGivesTheSameTransformAsFftForEveryLength() {
        java.util.Random random = new java.util.Random(3);
        for (int n = 2; n <= 1024; n <<= 1) {
            double[] re = new double[n];
            double[] im = new double[n];
            for (int i = 0; i < n; i++) {
                re[i] = random.nextGaussian();
                im[i] = random.nextGaussian();
            }
            double[] planRe = re.clone();
            double[] planIm = im.clone();
            Fft.transform(re, im);
            new FftPlan(n).transform(planRe, planIm);
            for (int k = 0; k < n; k++) {
                assertThat(planRe[k]).as("n=%d re[%d]", n, k).isCloseTo(re[k], within(1e-9));
                assertThat(planIm[k]).as("n=%d im[%d]", n, k).isCloseTo(im[k], within(1e-9));
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
