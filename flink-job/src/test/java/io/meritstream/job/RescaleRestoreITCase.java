package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.TrendKind;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A call that lives through two rescales: the job from options (unbounded Kafka source, production stages and sinks)
 * takes the first third of call-01 at parallelism 2, stops with a savepoint, takes the second third restored at
 * parallelism 1, stops with a savepoint again, and finishes the call restored at parallelism 2. Each channel must come
 * out as one call: window indices 0..N once each, chunk seqs 0..M once each with as many samples as went in, and one
 * session summary.
 */
class RescaleRestoreITCase {
    private static final int FRAMES_PER_THIRD = 650; // 13 s of 20 ms frames; call-01 is about 40 s

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void aCallContinuesAcrossSavepointsAtParallelismTwoOneAndTwo(@TempDir Path dir) throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String suffix = KafkaFlinkCluster.freshSuffix();
        Configuration options = CallPipeline.jobOptions(kafka, suffix);
        KafkaSettings topics = KafkaSettings.fromConfiguration(options);
        String session = "rescale-" + suffix;
        CallPipeline.Call call = CallPipeline.loadCall("call-01");

        CallPipeline.produce(kafka, topics.inputTopic(), session, call, 0, FRAMES_PER_THIRD);
        String first = runUntil(options, dir, 2, null, windowsAtLeast(topics, 2 * 10));
        CallPipeline.produce(kafka, topics.inputTopic(), session, call, FRAMES_PER_THIRD, 2 * FRAMES_PER_THIRD);
        String second = runUntil(options, dir, 1, first, windowsAtLeast(topics, 2 * 23));
        CallPipeline.produce(kafka, topics.inputTopic(), session, call, 2 * FRAMES_PER_THIRD, Integer.MAX_VALUE);
        runUntil(options, dir, 2, second, summaries(topics, 2));

        CallPipeline.Outputs out = CallPipeline.readCommitted(kafka, options);
        assertThat(out.deadLetters()).isEmpty();
        for (String channel : CallPipeline.CHANNELS) {
            // Events are at-least-once: a repeat has the same id; after dropping repeats, 0..N once each.
            Set<String> ids = new HashSet<>();
            List<Long> windows = out.emotionEvents().stream()
                    .filter(e -> e.getChannel().toString().equals(channel))
                    .filter(e -> ids.add(RecordIds.of(e)))
                    .map(EmotionEvent::getWindowIndex)
                    .sorted()
                    .toList();
            assertThat(windows).as("%s: window indices", channel).isNotEmpty();
            for (int k = 0; k < windows.size(); k++) {
                assertThat(windows.get(k)).as("%s: window %d", channel, k).isEqualTo(k);
            }
            List<EmotionTrend> summaries = out.emotionTrends().stream()
                    .filter(t -> t.getChannel().toString().equals(channel))
                    .filter(t -> t.getKind() == TrendKind.SESSION_SUMMARY)
                    .toList();
            assertThat(summaries).as("%s: one summary", channel).hasSize(1);
            List<EnhancedAudioChunk> chunks = out.enhancedAudio().stream()
                    .filter(c -> c.getChannel().toString().equals(channel))
                    .sorted((a, b) -> Long.compare(a.getSeq(), b.getSeq()))
                    .toList();
            long samples = 0;
            for (int k = 0; k < chunks.size(); k++) {
                assertThat(chunks.get(k).getSeq())
                        .as("%s: chunk %d", channel, k)
                        .isEqualTo(k);
                samples += chunks.get(k).getPayload().remaining() / 2;
            }
            assertThat(samples).as("%s: enhanced samples", channel).isEqualTo(call.samples(channel));
            assertThat(chunks.get(chunks.size() - 1).getEndOfStream()).isTrue();
        }
    }

    /**
     * Runs the job from options at {@code parallelism}, restored from {@code savepoint} when not null, until {@code
     * done} holds, then stops it with a savepoint and returns its path.
     */
    private static String runUntil(
            Configuration options, Path dir, int parallelism, String savepoint, Predicate<KafkaSettings> done)
            throws Exception {
        Configuration flink = CallPipeline.flinkOptions(dir.resolve("checkpoints"));
        if (savepoint != null) {
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        StreamExecutionEnvironment env = CLUSTER.environment(flink);
        env.setParallelism(parallelism);
        env.enableCheckpointing(500);
        MeritStreamJob.fromConfiguration(options).build(env);
        JobClient job = env.executeAsync("merit-stream rescale p" + parallelism);
        KafkaSettings topics = KafkaSettings.fromConfiguration(options);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!done.test(topics)) {
            assertThat(System.nanoTime())
                    .as("the job at parallelism %d got there in time", parallelism)
                    .isLessThan(deadline);
            assertThat(job.getJobStatus().get().isGloballyTerminalState()).isFalse();
            Thread.sleep(500);
        }
        return job.stopWithSavepoint(false, dir.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL)
                .get(2, TimeUnit.MINUTES);
    }

    /** At least {@code n} distinct windows among the events so far (visible at once: the topic is at-least-once). */
    private static Predicate<KafkaSettings> windowsAtLeast(KafkaSettings topics, int n) {
        SingleObjectCodec<EmotionEvent> codec = SingleObjectCodec.of(EmotionEvent.class);
        return t -> {
            Set<String> windows = new HashSet<>();
            for (byte[] value : readAll(topics.emotionEventsTopic())) {
                windows.add(RecordIds.of(codec.decode(value)));
            }
            return windows.size() >= n;
        };
    }

    private static Predicate<KafkaSettings> summaries(KafkaSettings topics, int n) {
        SingleObjectCodec<EmotionTrend> codec = SingleObjectCodec.of(EmotionTrend.class);
        return t -> readAll(topics.emotionTrendsTopic()).stream()
                        .map(codec::decode)
                        .filter(trend -> trend.getKind() == TrendKind.SESSION_SUMMARY)
                        .count()
                >= n;
    }

    /** Every record of {@code topic} so far (the at-least-once topics' records are visible at once). */
    private static List<byte[]> readAll(String topic) {
        return CallPipeline.readCommitted(CLUSTER.kafka(), topic, value -> value, new ArrayList<>(), new ArrayList<>());
    }
}
