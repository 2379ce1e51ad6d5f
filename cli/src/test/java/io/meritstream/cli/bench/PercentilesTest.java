package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PercentilesTest {
    @Test
    void nearestRankReturnsMeasuredValues() {
        // 1..100 shuffled: the p-th percentile by nearest rank is p itself.
        double[] values = new double[100];
        for (int i = 0; i < 100; i++) {
            values[i] = (i * 37) % 100 + 1;
        }
        Percentiles p = Percentiles.of(values);
        assertThat(p.count()).isEqualTo(100);
        assertThat(p.percentile(50)).isEqualTo(50);
        assertThat(p.percentile(99)).isEqualTo(99);
        assertThat(p.percentile(100)).isEqualTo(100);
        assertThat(p.percentile(0.5)).isEqualTo(1);
        assertThat(p.max()).isEqualTo(100);
    }

    @Test
    void smallSamples() {
        Percentiles p = Percentiles.of(new double[] {40, 10, 30, 20});
        assertThat(p.median()).isEqualTo(20); // rank ceil(0.5 * 4) = 2
        assertThat(p.percentile(99)).isEqualTo(40); // rank ceil(3.96) = 4
        assertThat(p.percentile(75)).isEqualTo(30);
        assertThat(Percentiles.of(new double[] {7}).percentile(99)).isEqualTo(7);
    }

    @Test
    void doesNotReorderTheCallersArray() {
        double[] values = {3, 1, 2};
        Percentiles.of(values);
        assertThat(values).containsExactly(3, 1, 2);
    }

    @Test
    void emptyIsNaNAndBadPercentilesAreRejected() {
        assertThat(Percentiles.of(new double[0]).percentile(99)).isNaN();
        assertThat(Percentiles.of(new double[0]).max()).isNaN();
        assertThatThrownBy(() -> Percentiles.of(new double[] {1}).percentile(0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Percentiles.of(new double[] {1}).percentile(101))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
