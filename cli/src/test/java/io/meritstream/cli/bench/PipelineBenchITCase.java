package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.inference.InferenceOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The pipeline part of the bench on the tiny fixture model: two real-time channels and a small backlog through the real
 * job on embedded Kafka and a MiniCluster. Checks that the measurement works (events come back and are matched to the
 * frames that made them), never how fast it is.
 */
class PipelineBenchITCase {
    private static final Path FIXTURE = Path.of("../flink-job/src/test/resources/fixtures/sparse_merit_fixture.onnx");

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void realTimeChannelsAndBacklogComeBackAsMatchedEvents() throws Exception {
        org.apache.flink.configuration.Configuration conf = new org.apache.flink.configuration.Configuration();
        conf.setString(
                InferenceOptions.MODEL_PATH.key(), FIXTURE.toAbsolutePath().toString());
        conf.set(InferenceOptions.INTRA_OP_THREADS, 1);
        // The job's delivery defaults (events at-least-once), with a short checkpoint interval so that the level sees
        // checkpoints.
        conf.setString("execution.checkpointing.interval", "1 s");
        try (PipelineBench bench = PipelineBench.start(new PipelineBench.Settings(1, conf, 16_000))) {
            PipelineBench.Level level =
                    bench.realtime(2, Duration.ofSeconds(4), Duration.ofSeconds(6), KeepsUpRule.DEFAULT);
            assertThat(level.channels()).isEqualTo(2);
            assertThat(level.inputWindowsPerSecond()).isEqualTo(2.0);
            assertThat(level.latencyMs().count()).isPositive();
            assertThat(level.latencyMs().count())
                    .isEqualTo(level.eventVisibleMs().count());
            // From the first new frame of a window to its event takes longer than from its last frame, by up to a hop.
            assertThat(level.latencyMs().median())
                    .isGreaterThan(level.eventVisibleMs().median());
            assertThat(level.latencyMs().median() - level.eventVisibleMs().median())
                    .isLessThanOrEqualTo(1_000 + 20);
            assertThat(level.eventVisibleMs().percentile(1)).isPositive();
            assertThat(level.checkpoints().intervalMs()).isEqualTo(1_000);
            assertThat(level.checkpoints().completed()).isPositive();
            assertThat(level.checkpoints().maxDurationMs()).isPositive();
            assertThat(level.failedWindows()).isZero();
            // The verdict is the rule applied to this level's own measurements (not how fast they are).
            assertThat(level.verdict())
                    .isEqualTo(KeepsUpRule.DEFAULT.judge(
                            level.inputWindowsPerSecond(),
                            level.outputEventsPerSecond(),
                            level.latencyMs().percentile(99),
                            1_000,
                            level.failedWindows()));
            assertThat(level.verdict().keepsUp() || !level.verdict().reason().isBlank())
                    .as("a level that falls behind says why: %s", level.verdict())
                    .isTrue();

            PipelineBench.Backlog backlog = bench.backlog(2, 6, Duration.ofMinutes(2));
            // About one window per channel per second of audio (early first window, final window at end of stream).
            assertThat(backlog.events()).isBetween(2 * 5, 2 * 8);
            assertThat(backlog.windowsPerSecond()).isPositive();
            assertThat(backlog.cpuSecondsPerWindow()).isPositive();
        }
    }
}
