package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.meritstream.analytics.AnalyticsStage;
import io.meritstream.conversation.ConversationStage;
import io.meritstream.inference.Inference;
import io.meritstream.session.WindowingConfig;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.transformations.PartitionTransformation;
import org.apache.flink.streaming.api.transformations.SideOutputTransformation;
import org.apache.flink.streaming.api.transformations.UnionTransformation;
import org.junit.jupiter.api.Test;

/** The graph's shape, without running it: what savepoint compatibility and the web UI depend on. */
class MeritStreamJobTest {

    @Test
    void everyOperatorOfTheIngestGraphHasANameAndAStableUid() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        ingestOnly().build(env);

        assertThat(uids(env))
                .containsExactlyInAnyOrder(
                        MeritStreamJob.UID_SOURCE,
                        MeritStreamJob.UID_DECODE,
                        MeritStreamJob.UID_DEAD_LETTER_SINK,
                        MeritStreamJob.UID_STREAM_GUARD,
                        MeritStreamJob.UID_RESAMPLE,
                        MeritStreamJob.UID_WINDOWER,
                        MeritStreamJob.UID_WINDOW_SINK);
    }

    @Test
    void theWholeJobFromOptionsHasEveryStageAndSinkWithAStableUid() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        MeritStreamJob.buildFromConfiguration(Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092")), env);

        assertThat(uids(env))
                .containsExactlyInAnyOrder(
                        MeritStreamJob.UID_SOURCE,
                        MeritStreamJob.UID_DECODE,
                        MeritStreamJob.UID_DEAD_LETTER_SINK,
                        MeritStreamJob.UID_STREAM_GUARD,
                        MeritStreamJob.UID_RESAMPLE,
                        MeritStreamJob.UID_WINDOWER,
                        Inference.UID,
                        AnalyticsStage.UID,
                        MeritStreamJob.UID_ENHANCED_AUDIO_SINK,
                        MeritStreamJob.UID_EMOTION_EVENTS_SINK,
                        MeritStreamJob.UID_EMOTION_TRENDS_SINK,
                        MeritStreamJob.UID_EMOTION_ALERTS_SINK,
                        ConversationStage.UID,
                        MeritStreamJob.UID_CALL_SUMMARIES_SINK);
        // Exactly-once sinks commit only at checkpoints: a job built from options always checkpoints.
        assertThat(env.getCheckpointConfig().isCheckpointingEnabled()).isTrue();
        assertThat(env.getCheckpointConfig().getCheckpointInterval())
                .isEqualTo(MeritStreamJob.DEFAULT_CHECKPOINT_INTERVAL.toMillis());
    }

    @Test
    void theCheckpointIntervalOfTheOptionsWinsOverTheDefault() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        MeritStreamJob.buildFromConfiguration(
                Configuration.fromMap(
                        Map.of("kafka.bootstrap-servers", "b:9092", "execution.checkpointing.interval", "2 s")),
                env);
        assertThat(env.getCheckpointConfig().getCheckpointInterval()).isEqualTo(2_000);
    }

    @Test
    void oneSlowCheckpointDoesNotFailTheJobOver() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        MeritStreamJob.buildFromConfiguration(Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092")), env);
        assertThat(env.getCheckpointConfig().getTolerableCheckpointFailureNumber())
                .isEqualTo(CheckpointDefaults.TOLERABLE_FAILED_CHECKPOINTS);
        assertThat(env.getCheckpointConfig().getMinPauseBetweenCheckpoints()).isEqualTo(5_000);
        assertThat(env.getMaxParallelism()).isEqualTo(CheckpointDefaults.MAX_PARALLELISM);
    }

    @Test
    void checkpointSettingsOfTheOptionsOrTheEnvironmentWin() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        MeritStreamJob.buildFromConfiguration(
                Configuration.fromMap(Map.of(
                        "kafka.bootstrap-servers", "b:9092",
                        "execution.checkpointing.tolerable-failed-checkpoints", "7",
                        "execution.checkpointing.min-pause", "1 s",
                        "pipeline.max-parallelism", "256")),
                env);
        assertThat(env.getCheckpointConfig().getTolerableCheckpointFailureNumber())
                .isEqualTo(7);
        assertThat(env.getCheckpointConfig().getMinPauseBetweenCheckpoints()).isEqualTo(1_000);
        assertThat(env.getMaxParallelism()).isEqualTo(256);

        StreamExecutionEnvironment own = StreamExecutionEnvironment.getExecutionEnvironment();
        own.getCheckpointConfig().setTolerableCheckpointFailureNumber(1);
        own.setMaxParallelism(32);
        MeritStreamJob.buildFromConfiguration(Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092")), own);
        assertThat(own.getCheckpointConfig().getTolerableCheckpointFailureNumber())
                .isEqualTo(1);
        assertThat(own.getMaxParallelism()).isEqualTo(32);
    }

    @Test
    void anEnvironmentThatAlreadyCheckpointsKeepsItsInterval() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(500);
        MeritStreamJob.buildFromConfiguration(Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092")), env);
        assertThat(env.getCheckpointConfig().getCheckpointInterval()).isEqualTo(500);
    }

    @Test
    void aBadOptionFailsBeforeAnythingIsBuilt() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        assertThatThrownBy(() -> MeritStreamJob.buildFromConfiguration(
                        Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092", "inference.batch.max", "0")),
                        env))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("inference.batch.max");
        assertThatThrownBy(() -> MeritStreamJob.buildFromConfiguration(
                        Configuration.fromMap(Map.of(
                                "kafka.bootstrap-servers", "b:9092", "kafka.topic.emotion-alerts", "emotion-events")),
                        env))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kafka.topic.emotion-alerts")
                .hasMessageContaining("kafka.topic.emotion-events");
        assertThatThrownBy(() -> MeritStreamJob.buildFromConfiguration(
                        Configuration.fromMap(Map.of(
                                "kafka.bootstrap-servers",
                                "b:9092",
                                "conversation.state-ttl",
                                "5 min",
                                "analytics.idle-timeout",
                                "10 min")),
                        env))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'conversation.state-ttl' (300000 ms) must exceed 'analytics.idle-timeout'");
        assertThat(env.getTransformations()).isEmpty();
    }

    @Test
    void aStreamingModelRunsOnlyWithTheWindowingItWasExportedFor() throws Exception {
        String model = Path.of(getClass()
                        .getResource("/fixtures/streaming/sparse_merit_fixture_stream.onnx")
                        .toURI())
                .toString();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        MeritStreamJob.buildFromConfiguration(
                Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092", "inference.model.path", model)), env);
        assertThat(env.getTransformations()).isNotEmpty();
        for (Map.Entry<String, String> wrong : Map.of(
                        "windowing.hop", "500 ms",
                        "windowing.window", "4 s",
                        "windowing.early-first-window", "false")
                .entrySet()) {
            StreamExecutionEnvironment other = StreamExecutionEnvironment.getExecutionEnvironment();
            assertThatThrownBy(() -> MeritStreamJob.buildFromConfiguration(
                            Configuration.fromMap(Map.of(
                                    "kafka.bootstrap-servers",
                                    "b:9092",
                                    "inference.model.path",
                                    model,
                                    wrong.getKey(),
                                    wrong.getValue())),
                            other))
                    .as(wrong.getKey())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("streaming model")
                    .hasMessageContaining(
                            wrong.getKey().equals("windowing.early-first-window")
                                    ? "windowing.early-first-window"
                                    : "windowing.hop");
        }
    }

    @Test
    void theIngestGraphHasNoInferenceOrAnalytics() {
        MeritStreamJob job = ingestOnly();
        assertThatThrownBy(() -> job.analyse(null))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("ingest and windowing only");
    }

    private static List<String> uids(StreamExecutionEnvironment env) {
        List<String> uids = new ArrayList<>();
        for (Transformation<?> t : allTransformations(env)) {
            if (t instanceof PartitionTransformation
                    || t instanceof SideOutputTransformation
                    || t instanceof UnionTransformation) {
                continue; // virtual: no operator of their own
            }
            assertThat(t.getUid()).as("uid of %s", t.getName()).isNotBlank();
            assertThat(t.getName()).as("name of %s", t.getUid()).isNotBlank();
            uids.add(t.getUid());
        }
        return uids;
    }

    private static MeritStreamJob ingestOnly() {
        KafkaSettings kafka =
                KafkaSettings.fromConfiguration(Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092")));
        return new MeritStreamJob(
                KafkaConnectors.audioFrameSource(kafka).build(),
                KafkaConnectors.deadLetterSink(kafka),
                new DiscardingSink<>(),
                IngestSettings.defaults(),
                WindowingConfig.defaults());
    }

    private static Set<Transformation<?>> allTransformations(StreamExecutionEnvironment env) {
        Set<Transformation<?>> seen = new HashSet<>();
        Deque<Transformation<?>> todo = new ArrayDeque<>(env.getTransformations());
        while (!todo.isEmpty()) {
            Transformation<?> t = todo.pop();
            if (seen.add(t)) {
                todo.addAll(t.getInputs());
            }
        }
        return seen;
    }
}
