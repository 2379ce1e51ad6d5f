package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.ChannelConversation;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.TrendKind;
import io.meritstream.avro.WindowFlag;
import io.meritstream.conversation.ConversationConfig;
import io.meritstream.conversation.ConversationStage;
import io.meritstream.inference.WindowResult;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The stage on a local MiniCluster with parallelism 2: every record type goes through Flink's real serializers (Avro
 * outputs, POJO state and inputs), and results of two channels arrive shuffled as from unordered async inference.
 */
class AnalyticsStageITCase {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    private static final int W = 48_000;
    private static final int H = 16_000;

    @Test
    void twoChannelsEndToEnd() throws Exception {
        float[] voiced = TestSignals.voiced(W, 0.3, 1);
        List<WindowResult> results = new ArrayList<>();
        int windows = 12;
        for (String channel : List.of("agent", "customer")) {
            for (int i = 0; i < windows; i++) {
                WindowResult r = new WindowResult();
                r.sessionId = "call-9";
                r.channel = channel;
                r.windowIndex = i;
                r.startSample = -2L * H + (long) i * H;
                r.windowSamples = W;
                r.hopSamples = H;
                r.validSamples = i == windows - 1 ? W - H / 2 : W;
                r.finalWindow = i == windows - 1;
                r.flags = i == 0 ? new WindowFlag[] {WindowFlag.PADDED_START} : new WindowFlag[0];
                r.enhanced = voiced;
                boolean angry = channel.equals("customer") && i >= 3 && i < 9;
                r.emotionProbabilities =
                        angry ? new float[] {0.9f, 0.05f, 0f, 0.05f} : new float[] {0f, 0f, 0.1f, 0.9f};
                r.modelVersion = "test 1";
                results.add(r);
            }
        }
        Collections.shuffle(results, new Random(3)); // order within a channel restored by the stage

        // No Kryo: results, state and outputs must all have real serializers (POJO, Avro).
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        // The rule-based speech gate, which calls the synthetic voiced signal speech.
        Configuration options = new Configuration();
        options.set(AnalyticsOptions.VAD_KIND, "energy");
        AnalyticsStage.Outputs out = AnalyticsStage.apply(
                env.fromData(TypeInformation.of(WindowResult.class), results.toArray(new WindowResult[0])),
                AnalyticsConfig.fromConfiguration(options));
        CloseableIterator<CallSummary> summaries = ConversationStage.apply(
                        out.channelActivity(), ConversationConfig.defaults())
                .collectAsync();
        CloseableIterator<EmotionEvent> events = out.emotionEvents().collectAsync();
        CloseableIterator<EnhancedAudioChunk> audio = out.enhancedAudio().collectAsync();
        CloseableIterator<EmotionTrend> trends = out.emotionTrends().collectAsync();
        CloseableIterator<EmotionAlert> alerts = out.emotionAlerts().collectAsync();
        JobClient job = env.executeAsync("analytics stage");

        List<EmotionEvent> eventList = drain(events);
        List<EnhancedAudioChunk> chunkList = drain(audio);
        List<EmotionTrend> trendList = drain(trends);
        List<EmotionAlert> alertList = drain(alerts);
        List<CallSummary> summaryList = drain(summaries);
        job.getJobExecutionResult().get();

        assertThat(eventList).hasSize(2 * windows);
        for (String channel : List.of("agent", "customer")) {
            assertThat(eventList.stream()
                            .filter(e -> e.getChannel().equals(channel))
                            .map(EmotionEvent::getWindowIndex))
                    .containsExactlyElementsOf(range(windows));
            List<EnhancedAudioChunk> chunks = chunkList.stream()
                    .filter(c -> c.getChannel().equals(channel))
                    .toList();
            assertThat(chunks.stream().map(EnhancedAudioChunk::getSeq)).containsExactlyElementsOf(range(chunks.size()));
            // Windows end at 1, 2, ..., 11 s; the final one has 2.5 s of real audio from its start at 9 s.
            assertThat(chunks.stream()
                            .mapToLong(c -> c.getPayload().remaining() / 2)
                            .sum())
                    .isEqualTo(11L * H + H / 2);
            assertThat(trendList.stream()
                            .filter(t -> t.getChannel().equals(channel) && t.getKind() == TrendKind.SESSION_SUMMARY))
                    .hasSize(1);
        }
        assertThat(trendList).hasSize(2 * (windows + 1));
        assertThat(alertList).isNotEmpty().allSatisfy(a -> assertThat(a.getChannel())
                .isEqualTo("customer"));
        // Both channels reach the conversation stage, keyed by session: one FINAL summary over the whole 11.5 s, the
        // customer's alerts in it. The voiced signal never pauses, so both talk all the time.
        CallSummary last = summaryList.get(summaryList.size() - 1);
        assertThat(summaryList)
                .filteredOn(s -> s.getKind() == CallSummaryKind.FINAL)
                .containsExactly(last);
        assertThat(last.getDurationMs()).isEqualTo(11_500);
        assertThat(last.getChannels())
                .extracting(ChannelConversation::getChannel)
                .containsExactlyInAnyOrder("agent", "customer");
        assertThat(last.getOvertalkMs()).isEqualTo(11_500);
        assertThat(last.getChannels())
                .filteredOn(c -> c.getChannel().equals("customer"))
                .singleElement()
                .satisfies(c -> assertThat(c.getAlerts()).hasSameSizeAs(alertList));
    }

    private static List<Long> range(long n) {
        List<Long> values = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            values.add(i);
        }
        return values;
    }

    private static <T> List<T> drain(CloseableIterator<T> iterator) throws Exception {
        List<T> values = new ArrayList<>();
        try (iterator) {
            iterator.forEachRemaining(values::add);
        }
        return values;
    }
}
