package io.meritstream.cli.job;

import org.apache.flink.configuration.Configuration;

/** Starts the job for {@code merit demo} and {@code merit run}. */
@FunctionalInterface
public interface JobLauncher {
    /**
     * Starts the job with {@code conf} (Flink options and the job's own: {@code kafka.*}, {@code inference.*}, ...)
     * and returns once it is submitted.
     */
    RunningJob start(Configuration conf) throws Exception;
}
