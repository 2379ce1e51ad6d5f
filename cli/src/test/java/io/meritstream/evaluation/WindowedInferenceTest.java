package io.meritstream.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.meritstream.inference.BatchOutput;
import io.meritstream.inference.ModelOutputs;
import io.meritstream.inference.WindowModel;
import io.meritstream.session.WindowingConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WindowedInferenceTest {
    /**
     * Enhancement = {@code gain ·} input; logits = (mean of the window's samples, 0, 0, 0), so each window gets its own
     * probabilities. Records the batch sizes it was called with.
     */
    static final class ScalingModel implements WindowModel {
        final float gain;
        final List<Integer> batches = new ArrayList<>();

        ScalingModel(float gain) {
            this.gain = gain;
        }

        @Override
        public BatchOutput run(float[][] batch) {
            batches.add(batch.length);
            float[][] enhanced = new float[batch.length][];
            float[][] logits = new float[batch.length][];
            for (int b = 0; b < batch.length; b++) {
                enhanced[b] = new float[batch[b].length];
                double mean = 0;
                for (int i = 0; i < batch[b].length; i++) {
                    enhanced[b][i] = gain * batch[b][i];
                    mean += batch[b][i];
                }
                logits[b] = new float[] {(float) (mean / batch[b].length), 0, 0, 0};
            }
            return new BatchOutput(enhanced, logits, null, null);
        }

        @Override
        public List<String> classes() {
            return List.of("angry", "sad", "happy", "neutral");
        }

        @Override
        public int expertCount() {
            return 0;
        }

        @Override
        public String version() {
            return "scaling";
        }

        @Override
        public void close() {}
    }

    static float[] signal(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (0.5 * Math.sin(i * 0.013) + 0.3 * Math.sin(i * 0.0007));
        }
        return x;
    }

    @Test
    void overlapAddOfAScalingModelGivesTheScaledInputBackOverTheWholeUtterance() throws Exception {
        float[] x = signal(46_400);
        WindowedInference.Result r =
                new WindowedInference(new ScalingModel(0.5f), WindowingConfig.defaults(), 8).run(x);
        assertThat(r.enhanced()).hasSize(x.length);
        assertThat(r.windows()).isEqualTo(3);
        // One assertion on the worst sample: per-sample assertions with descriptions take seconds on 46400 samples.
        double worst = 0;
        int at = -1;
        for (int i = 0; i < x.length; i++) {
            double e = Math.abs(r.enhanced()[i] - 0.5f * x[i]);
            if (e > worst) {
                worst = e;
                at = i;
            }
        }
        assertThat(worst).as("largest error, at sample " + at).isLessThan(1e-6);
    }

    @Test
    void emotionIsTheMeanOfTheWindowProbabilities() throws Exception {
        float[] x = signal(50_000);
        WindowingConfig config = WindowingConfig.defaults();
        ScalingModel model = new ScalingModel(1f);
        WindowedInference.Result r = new WindowedInference(model, config, 8).run(x);
        List<StreamWindows.Window> windows = StreamWindows.cut(x, config);
        double[] expected = new double[4];
        for (StreamWindows.Window w : windows) {
            float[] p =
                    ModelOutputs.softmax(model.run(new float[][] {w.samples()}).emotionLogits()[0]);
            for (int c = 0; c < 4; c++) {
                expected[c] += p[c] / windows.size();
            }
        }
        assertThat(r.windows()).isEqualTo(windows.size()).isEqualTo(4);
        for (int c = 0; c < 4; c++) {
            assertThat((double) r.probabilities()[c]).isCloseTo(expected[c], within(1e-6));
        }
        // the windows differ, so this is not the probability of any single window
        float[] p0 = ModelOutputs.softmax(
                model.run(new float[][] {windows.get(0).samples()}).emotionLogits()[0]);
        assertThat(Math.abs(r.probabilities()[0] - p0[0])).isGreaterThan(1e-4f);
    }

    @Test
    void resultsDoNotDependOnTheBatchSize() throws Exception {
        float[] x = signal(70_001);
        ScalingModel one = new ScalingModel(0.7f);
        ScalingModel three = new ScalingModel(0.7f);
        WindowedInference.Result a = new WindowedInference(one, WindowingConfig.defaults(), 1).run(x);
        WindowedInference.Result b = new WindowedInference(three, WindowingConfig.defaults(), 3).run(x);
        assertThat(one.batches).containsOnly(1).hasSize(a.windows());
        assertThat(three.batches).containsExactly(3, 2);
        assertThat(b.enhanced()).containsExactly(a.enhanced());
        assertThat(b.probabilities()).containsExactly(a.probabilities());
    }

    @Test
    void argmaxTakesTheFirstOfEqualMaxima() {
        assertThat(WindowedInference.argmax(new float[] {0.1f, 0.4f, 0.4f, 0.1f}))
                .isEqualTo(1);
        assertThat(WindowedInference.argmax(new float[] {0.7f, 0.1f, 0.1f, 0.1f}))
                .isZero();
    }
}
