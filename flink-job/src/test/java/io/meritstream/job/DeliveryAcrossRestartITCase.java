package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.inference.WindowResult;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each topic's delivery guarantee across a failure, under the default delivery options: the whole job (production
 * stages and Kafka sinks) runs the first 20 s of a shipped call twice, once undisturbed and once with a one-time failure
 * injected between inference and analytics after a checkpoint has completed. The job restarts from that checkpoint
 * (fixed-delay, one attempt). Read back under read_committed, against the undisturbed run:
 *
 * <ul>
 *   <li>enhanced audio (exactly-once): the same multiset of records, nothing lost, nothing twice;
 *   <li>emotion events, trends and alerts (at-least-once): nothing lost, and after dropping records whose {@link
 *       RecordIds#HEADER} came before, the same multiset: every repeat is a true repeat of the same record.
 * </ul>
 */
class DeliveryAcrossRestartITCase {
    private static final double SECONDS_OF_CALL = 20;
    private static final long CHECKPOINT_INTERVAL_MS = 500;
    /** Window results to pass before the failure may strike (of 2 × 21 in all), so it is mid-stream. */
    private static final int FAIL_AFTER_RESULTS = 12;

    private static final List<String> EXACTLY_ONCE_TOPICS = List.of("enhanced-audio");
    private static final List<String> AT_LEAST_ONCE_TOPICS =
            List.of("emotion-events", "emotion-trends", "emotion-alerts");

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES) // a job that never finishes fails here instead of hanging the build
    void eachTopicKeepsItsGuaranteeAcrossARestartFromACheckpoint(@TempDir Path checkpoints) throws Exception {
        CallPipeline.Call call = CallPipeline.loadCall("call-01").trimmed(SECONDS_OF_CALL);

        FailOnce.reset(false);
        Map<String, List<Output>> reference = run(call, "reference", checkpoints.resolve("reference"));
        assertThat(FailOnce.FAILED.get()).as("the reference run has no failure").isFalse();
        // The reference itself has no repeats, so equal multisets below mean "exactly once".
        for (Map.Entry<String, List<Output>> topic : reference.entrySet()) {
            assertThat(ids(topic.getValue()))
                    .as("record ids of %s in the reference are distinct", topic.getKey())
                    .doesNotHaveDuplicates();
        }
        assertThat(reference.get("emotion-events")).isNotEmpty();
        assertThat(reference.get("emotion-alerts"))
                .as("call-01's first 20 s raise an alert")
                .isNotEmpty();

        FailOnce.reset(true);
        Map<String, List<Output>> recovered = run(call, "failure", checkpoints.resolve("failure"));
        assertThat(FailOnce.FAILED.get()).as("the injected failure happened").isTrue();
        int total = reference.get("emotion-events").size();
        // Restored from a checkpoint that covered window results, not restarted from scratch: the restarted attempt
        // saw fewer results than there are.
        assertThat(FailOnce.COVERED_AT_FAILURE.get()).isPositive();
        assertThat(FailOnce.SEEN_AFTER_RESTART.get())
                .as("results seen after the restart (%d covered by the checkpoint)", FailOnce.COVERED_AT_FAILURE.get())
                .isPositive()
                .isLessThanOrEqualTo(total - FailOnce.COVERED_AT_FAILURE.get());

        for (String topic : EXACTLY_ONCE_TOPICS) {
            assertThat(identities(recovered.get(topic)))
                    .as("%s (exactly-once): every record once after the restart", topic)
                    .containsExactlyInAnyOrderElementsOf(identities(reference.get(topic)));
        }
        StringBuilder repeats = new StringBuilder();
        for (String topic : AT_LEAST_ONCE_TOPICS) {
            List<Output> got = recovered.get(topic);
            assertThat(identities(got))
                    .as("%s (at-least-once): nothing lost", topic)
                    .containsAll(identities(reference.get(topic)));
            Set<String> seen = new HashSet<>();
            List<Output> firstOfEachId =
                    got.stream().filter(o -> seen.add(o.recordId())).toList();
            assertThat(identities(firstOfEachId))
                    .as("%s (at-least-once): once each after dropping repeated record ids", topic)
                    .containsExactlyInAnyOrderElementsOf(identities(reference.get(topic)));
            repeats.append(String.format(" %s %d of %d", topic, got.size() - firstOfEachId.size(), got.size()));
        }
        System.out.printf(
                "DeliveryAcrossRestartITCase: failure after %d window results, %d covered by the restored checkpoint,"
                        + " %d re-processed after the restart; repeats:%s%n",
                FailOnce.SEEN_BEFORE_FAILURE.get(),
                FailOnce.COVERED_AT_FAILURE.get(),
                FailOnce.SEEN_AFTER_RESTART.get(),
                repeats);
    }

    /**
     * One output record as the test compares it: what identifies its content ({@code identity}: indices and extents,
     * the same in a repeat) and the {@link RecordIds#HEADER} it arrived with.
     */
    private record Output(String identity, String recordId) {}

    private static List<String> identities(List<Output> outputs) {
        return outputs.stream().map(Output::identity).toList();
    }

    private static List<String> ids(List<Output> outputs) {
        return outputs.stream().map(Output::recordId).toList();
    }

    /** Runs the job on fresh topics and returns everything committed on each output topic. */
    private static Map<String, List<Output>> run(CallPipeline.Call call, String name, Path checkpoints)
            throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String suffix = name + "-" + KafkaFlinkCluster.freshSuffix();
        Configuration options = CallPipeline.jobOptions(kafka, suffix);
        CallPipeline.produce(kafka, KafkaSettings.fromConfiguration(options).inputTopic(), "call-01", call);

        Configuration flink = CallPipeline.flinkOptions(checkpoints);
        flink.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 1);
        flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env = CLUSTER.environment(flink);
        env.enableCheckpointing(CHECKPOINT_INTERVAL_MS);

        // The production stages and sinks, with two test operators between them: a pacer behind the source, so the
        // call streams over a few seconds with checkpoints in between instead of being read in one gulp, and the
        // one-time failure between inference and analytics.
        MeritStreamJob job = CallPipeline.boundedJob(options);
        DataStream<IngestRecord> paced =
                job.records(env).map(new Pace()).name("test: pace the replay").uid("test-pace");
        DataStream<WindowResult> results = job.infer(job.windows(paced))
                .map(new FailOnce())
                .name("test: fail once")
                .uid("test-fail-once");
        job.sinkOutputs(job.analyse(results));
        long started = System.nanoTime();
        env.execute("merit-stream delivery " + name);
        System.out.printf("DeliveryAcrossRestartITCase: %s run %.1f s%n", name, (System.nanoTime() - started) / 1e9);

        CallPipeline.Outputs out = CallPipeline.readCommitted(kafka, options);
        assertThat(out.deadLetters()).isEmpty();
        Iterator<String> headers = out.recordIds().iterator();
        Map<String, List<Output>> topics = new LinkedHashMap<>();
        List<Output> audio = topics.computeIfAbsent("enhanced-audio", k -> new ArrayList<>());
        for (EnhancedAudioChunk c : out.enhancedAudio()) {
            audio.add(output(
                    "seq " + c.getSeq() + " at " + c.getStartSample() + " samples "
                            + c.getPayload().remaining() / 2 + " end " + c.getEndOfStream() + " " + c.getChannel(),
                    RecordIds.of(c),
                    headers.next()));
        }
        List<Output> events = topics.computeIfAbsent("emotion-events", k -> new ArrayList<>());
        for (EmotionEvent e : out.emotionEvents()) {
            events.add(output(
                    "window " + e.getWindowIndex() + " samples " + e.getWindowStartSample() + "-"
                            + e.getWindowEndSample() + " " + e.getChannel(),
                    RecordIds.of(e),
                    headers.next()));
        }
        List<Output> trends = topics.computeIfAbsent("emotion-trends", k -> new ArrayList<>());
        for (EmotionTrend t : out.emotionTrends()) {
            trends.add(output(
                    t.getKind() + " window " + t.getWindowIndex() + " " + t.getChannel(),
                    RecordIds.of(t),
                    headers.next()));
        }
        List<Output> alerts = topics.computeIfAbsent("emotion-alerts", k -> new ArrayList<>());
        for (EmotionAlert a : out.emotionAlerts()) {
            alerts.add(output(
                    a.getKind() + " window " + a.getWindowIndex() + " " + a.getChannel(),
                    RecordIds.of(a),
                    headers.next()));
        }
        return topics;
    }

    /** An output whose header must be the id its own fields give. */
    private static Output output(String identity, String idFromFields, String header) {
        assertThat(header).as("record id header of %s", identity).isEqualTo(idFromFields);
        return new Output(identity, header);
    }

    /**
     * Paces the replay to about five times real time: 20 ms frames, 2 ms each. Sleeping between records keeps the
     * source's checkpoint barriers flowing, so checkpoints complete while the call is still being processed.
     */
    private static final class Pace implements MapFunction<IngestRecord, IngestRecord> {
        @Override
        public IngestRecord map(IngestRecord record) throws Exception {
            Thread.sleep(2);
            return record;
        }
    }

    /**
     * Throws once, at the first window result after {@link #FAIL_AFTER_RESULTS} results when a completed checkpoint
     * covers at least one result this subtask passed on (so the restart resumes from real progress). Static state: the
     * MiniCluster runs in this JVM, and the guard must survive the restart that re-creates this function.
     */
    private static final class FailOnce extends RichMapFunction<WindowResult, WindowResult>
            implements CheckpointedFunction, CheckpointListener {
        static final AtomicBoolean ARMED = new AtomicBoolean();
        static final AtomicBoolean FAILED = new AtomicBoolean();
        static final AtomicInteger SEEN_BEFORE_FAILURE = new AtomicInteger();
        static final AtomicInteger SEEN_AFTER_RESTART = new AtomicInteger();
        static final AtomicInteger COVERED_AT_FAILURE = new AtomicInteger();

        private transient int passed;
        private transient int covered;
        private transient Map<Long, Integer> passedAtCheckpoint;

        static void reset(boolean armed) {
            ARMED.set(armed);
            FAILED.set(false);
            SEEN_BEFORE_FAILURE.set(0);
            SEEN_AFTER_RESTART.set(0);
            COVERED_AT_FAILURE.set(0);
        }

        @Override
        public WindowResult map(WindowResult result) {
            if (getRuntimeContext().getTaskInfo().getAttemptNumber() > 0) {
                SEEN_AFTER_RESTART.incrementAndGet();
                return result;
            }
            int seen = SEEN_BEFORE_FAILURE.incrementAndGet();
            if (seen > FAIL_AFTER_RESULTS && covered > 0 && ARMED.compareAndSet(true, false)) {
                COVERED_AT_FAILURE.set(covered);
                FAILED.set(true);
                throw new IllegalStateException("injected one-time failure after " + seen + " window results");
            }
            passed++;
            return result;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) {
            passedAtCheckpoint.put(context.getCheckpointId(), passed);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {
            passedAtCheckpoint = new HashMap<>();
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            Integer atCheckpoint = passedAtCheckpoint.remove(checkpointId);
            if (atCheckpoint != null) {
                covered = Math.max(covered, atCheckpoint);
            }
            passedAtCheckpoint.keySet().removeIf(id -> id < checkpointId);
        }
    }
}
