package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AlertKind;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.TrendKind;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole job for real: a shipped two-channel call ({@code data/calls/call-01}) produced to an in-process Kafka
 * broker as 20 ms frames, the job on a Flink MiniCluster with the production Kafka sinks (EXACTLY_ONCE) and a real
 * exported model in ONNX Runtime, every output topic read back under read_committed.
 *
 * <p>The model is the trained default ({@code models/merit-sparse.onnx}) when the build has it, else the committed tiny
 * fixture (random weights: plumbing only). Only with the trained model does the test also ask for the customer's
 * negative-emotion alert inside the scripted angry segment.
 */
class EndToEndITCase {
    private static final int HOP = 16_000; // the default windowing: 3 s windows, 1 s hop, early first window

    /**
     * Whether the trained default model is expected to raise the customer's alert inside the scripted angry segment of
     * call-01 (±{@link #ALERT_TOLERANCE_S} s). The assertion applies only when the trained model is in the build; turn
     * this off (and say why here) only if that model measurably cannot, rather than deleting the assertion.
     *
     * <p>Measured with the 3,000-step models/merit-sparse.onnx of the generalisation recipe (test-set F1-macro 0.52):
     * the customer's spike starts at 17.0 s (19.0 s under the earlier enter threshold 0.6) with ANGRY dominant and the
     * agent raises none. It needs the model's
     * calibrated probabilities (temperature 0.73 fitted on dev): uncalibrated, its angry windows sat at negativity
     * 0.6-0.7 and no spike started. The earlier 200-step model (F1 0.13) passed the timing only because it called nearly
     * everything SAD, hence the check on the dominant class.
     */
    static final boolean TRAINED_MODEL_ALERTS_ON_ANGRY_CUSTOMER = true;

    private static final double ALERT_TOLERANCE_S = 3.0;

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES) // a job that never finishes fails here instead of hanging the build
    void aShippedCallComesOutOnEveryTopic(@TempDir Path checkpoints) throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        CallPipeline.Call call = CallPipeline.loadCall("call-01");
        String suffix = KafkaFlinkCluster.freshSuffix();
        Configuration options = CallPipeline.jobOptions(kafka, suffix);
        String session = "call-01-" + suffix;
        CallPipeline.produce(kafka, KafkaSettings.fromConfiguration(options).inputTopic(), session, call);

        StreamExecutionEnvironment env = CLUSTER.environment(CallPipeline.flinkOptions(checkpoints));
        // As in production: the exactly-once sinks commit on checkpoints (and on the final one at the end of input).
        env.enableCheckpointing(1_000);
        long started = System.nanoTime();
        CallPipeline.boundedJob(options).execute(env);
        double jobSeconds = (System.nanoTime() - started) / 1e9;

        CallPipeline.Outputs out = CallPipeline.readCommitted(kafka, options);
        assertThat(out.keys()).as("every output record is keyed by its session").containsOnly(session);
        assertThat(out.deadLetters()).as("a clean call has no dead letters").isEmpty();

        Map<String, List<EmotionEvent>> events = byChannel(out.emotionEvents(), e -> e.getChannel());
        Map<String, List<EmotionTrend>> trends = byChannel(out.emotionTrends(), t -> t.getChannel());
        Map<String, List<EmotionAlert>> alerts = byChannel(out.emotionAlerts(), a -> a.getChannel());
        Map<String, List<EnhancedAudioChunk>> enhanced = byChannel(out.enhancedAudio(), c -> c.getChannel());
        assertThat(events).containsOnlyKeys(CallPipeline.CHANNELS);
        assertThat(enhanced).containsOnlyKeys(CallPipeline.CHANNELS);

        for (String channel : CallPipeline.CHANNELS) {
            int samples = call.samples(channel);
            // The windower's contract: one window per complete hop of audio, then one final window.
            int windows = samples / HOP + 1;

            List<EmotionEvent> channelEvents = events.get(channel);
            assertThat(channelEvents.stream().map(e -> e.getWindowIndex()).sorted())
                    .as("%s: one event per window, none failed, none twice", channel)
                    .containsExactlyElementsOf(java.util.stream.LongStream.range(0, windows)
                            .boxed()
                            .toList());
            assertThat(channelEvents).allSatisfy(e -> {
                assertThat(e.getSessionId()).isEqualTo(session);
                assertThat(e.getModelVersion()).isNotBlank();
                // arrival of the window's last frame to emission: within the job's run, however the clock is read
                assertThat(e.getLatencyMs()).isBetween(0L, (long) Math.ceil(jobSeconds * 1000));
            });

            List<EmotionTrend> channelTrends = trends.getOrDefault(channel, List.of());
            List<EmotionTrend> summaries = channelTrends.stream()
                    .filter(t -> t.getKind() == TrendKind.SESSION_SUMMARY)
                    .toList();
            assertThat(summaries).as("%s: one session summary", channel).hasSize(1);
            assertThat(channelTrends)
                    .as("%s: an update per event plus the summary", channel)
                    .hasSize(channelEvents.size() + 1);
            assertThat(channelTrends.get(channelTrends.size() - 1).getKind())
                    .as("%s: the summary comes last (one partition per session keeps the channel's order)", channel)
                    .isEqualTo(TrendKind.SESSION_SUMMARY);

            List<EmotionAlert> channelAlerts = alerts.getOrDefault(channel, List.of());
            if (CallPipeline.TRAINED_DEFAULT_MODEL && TRAINED_MODEL_ALERTS_ON_ANGRY_CUSTOMER) {
                // so that the pairing checks below check something: the angry customer's spike starts and ends,
                // the calm agent raises none
                assertThat(channelAlerts)
                        .as("%s: alerts of the trained model", channel)
                        .hasSizeGreaterThanOrEqualTo(channel.equals("customer") ? 2 : 0)
                        .hasSizeLessThanOrEqualTo(channel.equals("customer") ? Integer.MAX_VALUE : 0);
            }
            for (int i = 0; i < channelAlerts.size(); i++) {
                assertThat(channelAlerts.get(i).getKind())
                        .as("%s: alerts alternate start, end, starting with a start", channel)
                        .isEqualTo(i % 2 == 0 ? AlertKind.NEGATIVE_SPIKE_START : AlertKind.NEGATIVE_SPIKE_END);
            }
            assertThat(channelAlerts.size() % 2)
                    .as("%s: every spike is ended", channel)
                    .isZero();
            assertThat(summaries.get(0).getSummary().getAlertCount())
                    .as("%s: the summary counts the spikes", channel)
                    .isEqualTo(channelAlerts.size() / 2);

            List<EnhancedAudioChunk> chunks = enhanced.get(channel);
            CallPipeline.assertEnhancedAudioCoversTheCall(channel, chunks, samples);
            CallPipeline.writeWav(Path.of("target", "e2e", call.id() + "." + channel + ".enhanced.wav"), chunks);
        }

        List<EmotionAlert> customerStarts = alerts.getOrDefault("customer", List.of()).stream()
                .filter(a -> a.getKind() == AlertKind.NEGATIVE_SPIKE_START)
                .toList();
        double[] angry = call.span("customer", "angry");
        report(call, out, customerStarts, angry, jobSeconds);
        if (CallPipeline.TRAINED_DEFAULT_MODEL && TRAINED_MODEL_ALERTS_ON_ANGRY_CUSTOMER) {
            assertThat(customerStarts)
                    .as(
                            "the trained model raises the customer's alert inside the angry segment %.1f-%.1f s (±%.0f s)",
                            angry[0], angry[1], ALERT_TOLERANCE_S)
                    .anySatisfy(a -> {
                        assertThat(a.getTimeMs() / 1000.0)
                                .isBetween(angry[0] - ALERT_TOLERANCE_S, angry[1] + ALERT_TOLERANCE_S);
                        assertThat(a.getEvidence().getDominant()).isEqualTo(Emotion.ANGRY);
                    });
        }
    }

    private static <T> Map<String, List<T>> byChannel(List<T> records, java.util.function.Function<T, String> channel) {
        return records.stream().collect(Collectors.groupingBy(channel));
    }

    /** What the run measured, for the log (latency here includes the backlog of a call produced before the job). */
    private static void report(
            CallPipeline.Call call,
            CallPipeline.Outputs out,
            List<EmotionAlert> customerStarts,
            double[] angry,
            double jobSeconds) {
        List<Long> latencies = out.emotionEvents().stream()
                .map(EmotionEvent::getLatencyMs)
                .sorted(Comparator.naturalOrder())
                .toList();
        String labels = out.emotionEvents().stream()
                .sorted(Comparator.comparing(EmotionEvent::getChannel).thenComparing(EmotionEvent::getWindowIndex))
                .collect(Collectors.groupingBy(
                        EmotionEvent::getChannel,
                        Collectors.mapping(e -> e.getLabel().name().substring(0, 1), Collectors.joining())))
                .toString();
        System.out.printf(
                "EndToEndITCase %s with %s: job %.1f s; %d events, %d trends, %d alerts (customer starts at %s s;"
                        + " angry segment %.1f-%.1f s), %d enhanced chunks; event latency p50 %d ms, max %d ms;"
                        + " labels %s%n",
                call.id(),
                CallPipeline.TRAINED_DEFAULT_MODEL ? "the trained default model" : "the tiny fixture model",
                jobSeconds,
                out.emotionEvents().size(),
                out.emotionTrends().size(),
                out.emotionAlerts().size(),
                customerStarts.stream().map(a -> a.getTimeMs() / 1000.0).toList(),
                angry[0],
                angry[1],
                out.enhancedAudio().size(),
                latencies.get(latencies.size() / 2),
                latencies.get(latencies.size() - 1),
                labels);
    }
}
