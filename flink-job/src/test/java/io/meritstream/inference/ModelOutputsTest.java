package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ModelOutputsTest {
    @Test
    void softmaxMatchesTheDefinitionAndSumsToOne() {
        float[] p = ModelOutputs.softmax(new float[] {1f, 2f, 3f, 0f});
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(0);
        assertThat(p[0]).isCloseTo((float) (Math.exp(1) / z), within(1e-6f));
        assertThat(p[2]).isCloseTo((float) (Math.exp(3) / z), within(1e-6f));
        assertThat(p[0] + p[1] + p[2] + p[3]).isCloseTo(1f, within(1e-6f));
    }

    @Test
    void softmaxDoesNotOverflowOnLargeLogits() {
        float[] p = ModelOutputs.softmax(new float[] {1000f, 1000f, -1000f, 0f});
        assertThat(p).containsExactly(0.5f, 0.5f, 0f, 0f);
    }

    @Test
    void softmaxRejectsNonFiniteLogits() {
        assertThatThrownBy(() -> ModelOutputs.softmax(new float[] {Float.NaN, 0f}))
                .hasMessage("model returned a non-finite emotion logit: NaN");
    }

    @Test
    void histogramCountsFramesPerExpert() {
        assertThat(ModelOutputs.histogram(new long[] {0, 2, 2, 1, 2}, 3)).containsExactly(1, 1, 3);
        assertThat(ModelOutputs.histogram(new long[0], 3)).containsExactly(0, 0, 0);
        assertThat(ModelOutputs.histogram(null, 0)).isEmpty();
    }

    @Test
    void histogramRejectsAnExpertTheModelDoesNotHave() {
        assertThatThrownBy(() -> ModelOutputs.histogram(new long[] {0, 3}, 3))
                .hasMessage("model routed a frame to expert 3 but has 3 experts");
    }
}
