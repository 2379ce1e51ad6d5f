package io.meritstream.job;

import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The checkpoint settings a job built from options runs with where neither its options nor the environment set them.
 * Flink's own defaults suit a job that can fail over cheaply; this one cannot: a failover replays everything since
 * the last checkpoint and re-sends the at-least-once topics' records, so one slow checkpoint must not cause one.
 *
 * <ul>
 *   <li>{@code execution.checkpointing.tolerable-failed-checkpoints}: {@value #TOLERABLE_FAILED_CHECKPOINTS} (Flink: 0,
 *       the first failed or timed-out checkpoint fails the job over). Exactly-once transactions stay open until a
 *       checkpoint succeeds: with the 10 s interval, 4 checkpoints are far inside the 15 min transaction timeout.
 *   <li>{@code execution.checkpointing.min-pause}: half the interval (Flink: 0, a checkpoint that took longer than the
 *       interval is followed at once by the next, and a loaded job does nothing but checkpoint).
 *   <li>{@code pipeline.max-parallelism}: {@value #MAX_PARALLELISM} (Flink: derived from the parallelism the job first
 *       ran with). Keyed state is split into this many key groups, fixed for the life of a savepoint: an implicit value
 *       can make a later rescale above it impossible.
 * </ul>
 */
public final class CheckpointDefaults {
    public static final int TOLERABLE_FAILED_CHECKPOINTS = 3;
    public static final int MAX_PARALLELISM = 128;

    private CheckpointDefaults() {}

    /**
     * Applies each setting to {@code env} unless {@code env} has one of its own: the value of {@code options} where it
     * sets one, else the default above.
     */
    static void apply(ReadableConfig options, StreamExecutionEnvironment env, Duration interval) {
        CheckpointConfig checkpoints = env.getCheckpointConfig();
        if (checkpoints.getTolerableCheckpointFailureNumber() == 0) {
            checkpoints.setTolerableCheckpointFailureNumber(
                    options.getOptional(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER)
                            .orElse(TOLERABLE_FAILED_CHECKPOINTS));
        }
        if (checkpoints.getMinPauseBetweenCheckpoints() == 0) {
            checkpoints.setMinPauseBetweenCheckpoints(
                    options.getOptional(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS)
                            .orElse(interval.dividedBy(2))
                            .toMillis());
        }
        if (env.getMaxParallelism() <= 0) {
            env.setMaxParallelism(
                    options.getOptional(PipelineOptions.MAX_PARALLELISM).orElse(MAX_PARALLELISM));
        }
    }
}
