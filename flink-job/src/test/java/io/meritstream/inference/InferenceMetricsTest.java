package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.meritstream.metrics.MetricNames;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

class InferenceMetricsTest {
    /** Records every metric under its group path, e.g. {@code task=se/expert=0/expertUtilisation}. */
    static final class RecordingGroup extends UnregisteredMetricsGroup {
        final Map<String, Metric> metrics;
        final String prefix;

        RecordingGroup() {
            this(new TreeMap<>(), "");
        }

        private RecordingGroup(Map<String, Metric> metrics, String prefix) {
            this.metrics = metrics;
            this.prefix = prefix;
        }

        @Override
        public <C extends Counter> C counter(String name, C counter) {
            metrics.put(prefix + name, counter);
            return counter;
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            metrics.put(prefix + name, gauge);
            return gauge;
        }

        @Override
        public <M extends Meter> M meter(String name, M meter) {
            metrics.put(prefix + name, meter);
            return meter;
        }

        @Override
        public <H extends Histogram> H histogram(String name, H histogram) {
            metrics.put(prefix + name, histogram);
            return histogram;
        }

        @Override
        public MetricGroup addGroup(String key, String value) {
            return new RecordingGroup(metrics, prefix + key + "=" + value + "/");
        }

        Object gaugeValue(String path) {
            return ((Gauge<?>) metrics.get(path)).getValue();
        }
    }

    @Test
    void registersEveryMetricUnderItsConstantName() {
        RecordingGroup group = new RecordingGroup();
        new InferenceMetrics(group, "fake 1.0", 3, () -> 7);
        assertThat(group.metrics)
                .containsKeys(
                        MetricNames.INFERENCE_LATENCY_MS,
                        MetricNames.INFERENCE_WINDOW_LATENCY_MS,
                        MetricNames.INFERENCE_BATCH_SIZE,
                        MetricNames.INFERENCE_QUEUE_DEPTH,
                        MetricNames.INFERENCE_WINDOWS,
                        MetricNames.INFERENCE_WINDOWS_PER_SECOND,
                        MetricNames.INFERENCE_FAILED_WINDOWS,
                        MetricNames.INFERENCE_BATCH_FAILURES,
                        MetricNames.MODEL_VERSION,
                        "model_version=fake 1.0/" + MetricNames.MODEL_INFO,
                        "task=se/expert=2/" + MetricNames.EXPERT_UTILISATION,
                        "task=ser/expert=0/" + MetricNames.EXPERT_ROUTED_FRAMES);
        assertThat(group.gaugeValue(MetricNames.INFERENCE_QUEUE_DEPTH)).isEqualTo(7);
        assertThat(group.gaugeValue(MetricNames.MODEL_VERSION)).isEqualTo("fake 1.0");
        assertThat(group.metrics).doesNotContainKey("task=se/expert=3/" + MetricNames.EXPERT_UTILISATION);
    }

    @Test
    void expertUtilisationIsTheFractionOfEachTasksFramesPerExpert() {
        RecordingGroup group = new RecordingGroup();
        InferenceMetrics metrics = new InferenceMetrics(group, "fake 1.0", 3, () -> 0);
        assertThat(group.gaugeValue("task=se/expert=0/" + MetricNames.EXPERT_UTILISATION))
                .as("no frames yet")
                .isEqualTo(0.0);
        metrics.routing(new int[] {3, 1, 0}, new int[] {0, 0, 4});
        metrics.routing(new int[] {2, 2, 0}, new int[] {0, 1, 3});
        assertThat((double) group.gaugeValue("task=se/expert=0/" + MetricNames.EXPERT_UTILISATION))
                .isCloseTo(5 / 8.0, within(1e-12));
        assertThat((double) group.gaugeValue("task=se/expert=1/" + MetricNames.EXPERT_UTILISATION))
                .isCloseTo(3 / 8.0, within(1e-12));
        assertThat((double) group.gaugeValue("task=ser/expert=2/" + MetricNames.EXPERT_UTILISATION))
                .isCloseTo(7 / 8.0, within(1e-12));
        assertThat(group.gaugeValue("task=ser/expert=1/" + MetricNames.EXPERT_ROUTED_FRAMES))
                .isEqualTo(1L);
    }

    @Test
    void countsWindowsFailuresAndBatches() {
        RecordingGroup group = new RecordingGroup();
        InferenceMetrics metrics = new InferenceMetrics(group, "fake 1.0", 0, () -> 0);
        metrics.batchSucceeded(4, 12_000_000);
        metrics.batchFailed(2, new IllegalStateException(), true);
        metrics.windowDone(20_000_000, false);
        metrics.windowDone(30_000_000, true);
        assertThat(((Counter) group.metrics.get(MetricNames.INFERENCE_WINDOWS)).getCount())
                .isEqualTo(2);
        assertThat(((Counter) group.metrics.get(MetricNames.INFERENCE_FAILED_WINDOWS)).getCount())
                .isEqualTo(1);
        assertThat(((Counter) group.metrics.get(MetricNames.INFERENCE_BATCH_FAILURES)).getCount())
                .isEqualTo(1);
        Histogram batchSize = (Histogram) group.metrics.get(MetricNames.INFERENCE_BATCH_SIZE);
        assertThat(batchSize.getCount()).isEqualTo(1);
        assertThat(batchSize.getStatistics().getMax()).isEqualTo(4);
        Histogram latency = (Histogram) group.metrics.get(MetricNames.INFERENCE_WINDOW_LATENCY_MS);
        assertThat(latency.getStatistics().getMax()).isEqualTo(30);
        assertThat(group.metrics.keySet()).noneMatch(k -> k.startsWith("task="));
    }
}
