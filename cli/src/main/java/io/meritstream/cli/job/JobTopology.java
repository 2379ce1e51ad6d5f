package io.meritstream.cli.job;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** Builds the merit-stream job, with its Kafka sources and sinks, from the job's options into an environment. */
@FunctionalInterface
public interface JobTopology {
    void build(Configuration conf, StreamExecutionEnvironment env) throws Exception;
}
