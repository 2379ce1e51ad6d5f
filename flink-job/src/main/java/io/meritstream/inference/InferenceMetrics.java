package io.meritstream.inference;

import io.meritstream.metrics.MetricNames;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.ThreadSafeSimpleCounter;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The inference operator's metrics (names in {@link MetricNames}). Updated from the batcher's worker thread and from
 * Flink's task thread (timeouts), hence thread-safe counters.
 */
final class InferenceMetrics implements MicroBatcher.Listener {
    /** Samples each histogram keeps: enough for stable percentiles over the last few minutes at 50 windows/s. */
    static final int HISTOGRAM_WINDOW = 4096;

    /**
     * Most experts that get their own metric labels; a model with more gets labels for the first ones only, so that a
     * wrongly exported card cannot flood the metric system.
     */
    static final int MAX_EXPERT_LABELS = 32;

    static final String[] TASKS = {"se", "ser"};

    private final Histogram latencyMs = new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW);
    private final Histogram windowLatencyMs = new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW);
    private final Histogram batchSize = new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW);
    private final Counter windows = new ThreadSafeSimpleCounter();
    private final Counter failedWindows = new ThreadSafeSimpleCounter();
    private final Counter batchFailures = new ThreadSafeSimpleCounter();
    /** Frames routed per [task][expert], and per task in total. */
    private final AtomicLongArray[] routed;

    private final AtomicLongArray routedTotal = new AtomicLongArray(TASKS.length);

    InferenceMetrics(MetricGroup group, String modelVersion, int experts, Gauge<Integer> queueDepth) {
        group.histogram(MetricNames.INFERENCE_LATENCY_MS, latencyMs);
        group.histogram(MetricNames.INFERENCE_WINDOW_LATENCY_MS, windowLatencyMs);
        group.histogram(MetricNames.INFERENCE_BATCH_SIZE, batchSize);
        group.gauge(MetricNames.INFERENCE_QUEUE_DEPTH, queueDepth);
        group.counter(MetricNames.INFERENCE_WINDOWS, windows);
        group.meter(MetricNames.INFERENCE_WINDOWS_PER_SECOND, new MeterView(windows));
        group.counter(MetricNames.INFERENCE_FAILED_WINDOWS, failedWindows);
        group.counter(MetricNames.INFERENCE_BATCH_FAILURES, batchFailures);
        group.gauge(MetricNames.MODEL_VERSION, () -> modelVersion);
        group.addGroup(MetricNames.MODEL_VERSION_GROUP, modelVersion).gauge(MetricNames.MODEL_INFO, () -> 1);

        routed = new AtomicLongArray[TASKS.length];
        for (int t = 0; t < TASKS.length; t++) {
            routed[t] = new AtomicLongArray(experts);
            MetricGroup task = group.addGroup(MetricNames.TASK_GROUP, TASKS[t]);
            for (int e = 0; e < Math.min(experts, MAX_EXPERT_LABELS); e++) {
                final int ti = t;
                final int ei = e;
                MetricGroup expert = task.addGroup(MetricNames.EXPERT_GROUP, Integer.toString(e));
                expert.gauge(MetricNames.EXPERT_UTILISATION, () -> utilisation(ti, ei));
                expert.gauge(MetricNames.EXPERT_ROUTED_FRAMES, () -> routed[ti].get(ei));
            }
        }
    }

    @Override
    public void batchSucceeded(int size, long nanos) {
        batchSize.update(size);
        latencyMs.update(nanos / 1_000_000);
    }

    @Override
    public void batchFailed(int size, Throwable cause, boolean willRetry) {
        batchFailures.inc();
    }

    /** A window got its result (successful or failed) {@code nanos} after it entered the operator. */
    void windowDone(long nanos, boolean failed) {
        windows.inc();
        windowLatencyMs.update(nanos / 1_000_000);
        if (failed) {
            failedWindows.inc();
        }
    }

    /** Adds one window's routing histograms (SE, SER) to the utilisation. */
    void routing(int[] se, int[] ser) {
        add(0, se);
        add(1, ser);
    }

    private void add(int task, int[] counts) {
        long total = 0;
        for (int e = 0; e < counts.length && e < routed[task].length(); e++) {
            routed[task].addAndGet(e, counts[e]);
            total += counts[e];
        }
        routedTotal.addAndGet(task, total);
    }

    /** Fraction of the task's frames routed to the expert so far; 0 before the first frame. */
    double utilisation(int task, int expert) {
        long total = routedTotal.get(task);
        return total == 0 ? 0.0 : (double) routed[task].get(expert) / total;
    }

    long failedWindows() {
        return failedWindows.getCount();
    }
}
