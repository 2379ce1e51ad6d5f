package io.meritstream.metrics;

/**
 * Names of every metric the job registers, in one place so that dashboards, alert rules and tests refer to the same
 * strings. Flink's Prometheus reporter exports them as {@code flink_taskmanager_job_task_operator_<name>}.
 */
public final class MetricNames {
    private MetricNames() {}
}
