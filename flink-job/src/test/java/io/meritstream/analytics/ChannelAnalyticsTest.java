package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.meritstream.avro.AlertKind;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.SessionSummary;
import io.meritstream.avro.TrendKind;
import io.meritstream.avro.WindowFlag;
import io.meritstream.inference.WindowResult;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.Test;

/**
 * Operator-harness tests of {@link ChannelAnalytics}: windows of 3 s with a 1 s hop, the first left-padded by 2 s (so
 * window i covers samples [16000 (i - 2), 16000 (i + 1)) and ends at (i + 1) s), as the windower cuts them.
 */
class ChannelAnalyticsTest {
    private static final int W = 48_000;
    private static final int H = 16_000;
    private static final int PAD = 32_000;
    private static final String MODEL = "sparse-merit-tiny 0.1.0";

    /** A speech-like enhanced window, and a silent one. */
    private static final float[] VOICED = TestSignals.voiced(W, 0.3, 42);

    private static final float[] SILENCE = new float[W];

    /** Class probabilities in the model's order: angry, sad, happy, neutral. */
    private static float[] p(double angry, double sad, double happy, double neutral) {
        return new float[] {(float) angry, (float) sad, (float) happy, (float) neutral};
    }

    /** Probabilities whose negativity (default weights) is {@code v}: angry v, neutral 1 - v. */
    private static float[] neg(double v) {
        return p(v, 0, 0, 1 - v);
    }

    private static WindowResult window(String channel, long index, float[] probabilities, float[] enhanced) {
        WindowResult r = new WindowResult();
        r.sessionId = "call-1";
        r.channel = channel;
        r.windowIndex = index;
        r.startSample = -PAD + index * H;
        r.windowSamples = W;
        r.hopSamples = H;
        r.validSamples = W;
        r.flags = index == 0 ? new WindowFlag[] {WindowFlag.PADDED_START} : new WindowFlag[0];
        r.lastArrivalMs = 1_000 * index;
        r.enhanced = enhanced;
        r.emotionProbabilities = probabilities;
        r.routingSe = new int[] {100, 30, 20};
        r.routingSer = new int[] {50, 50, 50};
        r.modelVersion = MODEL;
        return r;
    }

    private static WindowResult speech(long index, float[] probabilities) {
        return window("customer", index, probabilities, VOICED);
    }

    private static WindowResult silence(long index, float[] probabilities) {
        return window("customer", index, probabilities, SILENCE);
    }

    private static WindowResult last(WindowResult r, int valid) {
        r.finalWindow = true;
        r.validSamples = valid;
        return r;
    }

    /** The windows of a signal passed through an identity "model", as inference would return them. */
    private static List<WindowResult> identityWindows(float[] signal) {
        List<WindowResult> windows = new ArrayList<>();
        for (long i = 0; ; i++) {
            long start = -PAD + i * H;
            float[] enhanced = new float[W];
            for (int n = 0; n < W; n++) {
                long s = start + n;
                if (s >= 0 && s < signal.length) {
                    enhanced[n] = signal[(int) s];
                }
            }
            WindowResult r = window("customer", i, neg(0.1), enhanced);
            windows.add(r);
            if (start + W >= signal.length) {
                last(r, (int) (signal.length - start));
                return windows;
            }
        }
    }

    private ChannelAnalytics function;

    private KeyedOneInputStreamOperatorTestHarness<String, WindowResult, EmotionEvent> harness(Configuration conf)
            throws Exception {
        function = new ChannelAnalytics(AnalyticsConfig.fromConfiguration(energyGate(conf)));
        KeyedOneInputStreamOperatorTestHarness<String, WindowResult, EmotionEvent> h =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                        function, ChannelAnalytics.keySelector(), Types.STRING);
        h.setProcessingTime(100_000);
        return h;
    }

    /**
     * The rule-based speech gate, which calls the synthetic voiced signal speech (Silero VAD, the default, is tested on
     * recorded speech in SileroSpeechGateTest).
     */
    private static Configuration energyGate(Configuration conf) {
        Configuration copy = new Configuration(conf);
        copy.set(AnalyticsOptions.VAD_KIND, "energy");
        return copy;
    }

    /** Smoothing that follows each window almost at once (alpha 0.999): negativity is about the window's own. */
    private static Configuration instant() {
        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.TREND_HALF_LIFE, Duration.ofMillis(100));
        conf.set(AnalyticsOptions.ALERT_COOLDOWN, Duration.ZERO);
        conf.set(AnalyticsOptions.ALERT_ENTER_THRESHOLD, 0.6);
        return conf;
    }

    private static <T> List<T> side(KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h, OutputTag<T> tag) {
        Queue<StreamRecord<T>> queue = h.getSideOutput(tag);
        List<T> values = new ArrayList<>();
        if (queue != null) {
            queue.forEach(record -> values.add(record.getValue()));
        }
        return values;
    }

    private static List<EmotionTrend> updates(KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h) {
        return side(h, ChannelAnalytics.EMOTION_TRENDS).stream()
                .filter(t -> t.getKind() == TrendKind.UPDATE)
                .toList();
    }

    private static void feed(
            KeyedOneInputStreamOperatorTestHarness<String, WindowResult, EmotionEvent> h, WindowResult... rs)
            throws Exception {
        for (WindowResult r : rs) {
            h.processElement(r, 0L);
        }
    }

    @Test
    void eventCarriesTheWindowAndItsLatency() throws Exception {
        var h = harness(new Configuration());
        WindowResult first = speech(0, p(0.1, 0.2, 0.6, 0.1));
        first.lastArrivalMs = 99_750;
        feed(h, first);

        EmotionEvent e = h.extractOutputValues().get(0);
        assertThat(e.getSessionId()).isEqualTo("call-1");
        assertThat(e.getChannel()).isEqualTo("customer");
        assertThat(e.getWindowIndex()).isZero();
        // The padded start is clamped to the channel's first sample.
        assertThat(e.getWindowStartSample()).isZero();
        assertThat(e.getWindowEndSample()).isEqualTo(16_000);
        assertThat(e.getWindowStartMs()).isZero();
        assertThat(e.getWindowEndMs()).isEqualTo(1_000);
        assertThat(e.getProbabilities()).isEqualTo(new EmotionProbabilities(0.1f, 0.2f, 0.6f, 0.1f));
        assertThat(e.getLabel()).isEqualTo(Emotion.HAPPY);
        assertThat(e.getConfidence()).isEqualTo(0.6f);
        assertThat(e.getSpeech()).isTrue();
        assertThat(e.getSpeechRatio()).isGreaterThan(0.9f);
        assertThat(e.getRoutingSe()).containsExactly(100, 30, 20);
        assertThat(e.getRoutingSer()).containsExactly(50, 50, 50);
        assertThat(e.getFlags()).containsExactly(WindowFlag.PADDED_START);
        assertThat(e.getModelVersion()).isEqualTo(MODEL);
        assertThat(e.getLatencyMs()).isEqualTo(250);
        assertThat(function.latency.getCount()).isEqualTo(1);
        assertThat(function.emotionEvents.getCount()).isEqualTo(1);

        feed(h, silence(1, p(0.1, 0.2, 0.6, 0.1)));
        EmotionEvent quiet = h.extractOutputValues().get(1);
        assertThat(quiet.getSpeech()).isFalse();
        assertThat(quiet.getSpeechRatio()).isZero();
        assertThat(function.nonSpeechWindows.getCount()).isEqualTo(1);
    }

    @Test
    void emaMatchesHandComputation() throws Exception {
        // Half-life 2 s, hop 1 s: alpha = 1 - 2^-0.5 = 0.2928932; after two hops exactly half way from the prior.
        var h = harness(new Configuration());
        float[] angry = p(0.8, 0.1, 0.05, 0.05);
        feed(h, speech(0, angry), speech(1, angry), silence(2, p(1, 0, 0, 0)));

        List<EmotionTrend> u = updates(h);
        assertThat(u).hasSize(3);
        EmotionProbabilities first = u.get(0).getSmoothed();
        assertThat(first.getAngry()).isCloseTo(0.8f * 0.2928932f, within(1e-6f));
        assertThat(first.getSad()).isCloseTo(0.1f * 0.2928932f, within(1e-6f));
        assertThat(first.getNeutral()).isCloseTo(1 - 0.95f * 0.2928932f, within(1e-6f));
        assertThat(u.get(0).getNegativity()).isCloseTo(0.9f * 0.2928932f, within(1e-6f));
        assertThat(u.get(0).getSlope()).isCloseTo(0.9f * 0.2928932f, within(1e-6f));
        assertThat(u.get(0).getTimeMs()).isEqualTo(1_000);

        EmotionProbabilities second = u.get(1).getSmoothed();
        assertThat(second.getAngry()).isCloseTo(0.4f, within(1e-6f));
        assertThat(second.getSad()).isCloseTo(0.05f, within(1e-6f));
        assertThat(second.getHappy()).isCloseTo(0.025f, within(1e-6f));
        assertThat(second.getNeutral()).isCloseTo(0.525f, within(1e-6f));
        assertThat(u.get(1).getNegativity()).isCloseTo(0.45f, within(1e-6f));
        assertThat(u.get(1).getSlope()).isCloseTo(0.45f - 0.9f * 0.2928932f, within(1e-6f));

        // The silent window, however angry the model thinks it is, leaves the trend where it was.
        assertThat(u.get(2).getSpeech()).isFalse();
        assertThat(u.get(2).getSmoothed()).isEqualTo(second);
        assertThat(u.get(2).getSlope()).isZero();
        assertThat(u.get(2).getWindowIndex()).isEqualTo(2);
    }

    @Test
    void weightsAndHalfLifeAreConfigurable() throws Exception {
        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.TREND_HALF_LIFE, Duration.ofSeconds(1));
        conf.set(AnalyticsOptions.NEGATIVITY_WEIGHT_ANGRY, 0.5);
        conf.set(AnalyticsOptions.NEGATIVITY_WEIGHT_SAD, 0.25);
        var h = harness(conf);
        feed(h, speech(0, p(0.6, 0.4, 0, 0)));
        // alpha = 1/2: angry 0.3, sad 0.2; negativity 0.5 * 0.3 + 0.25 * 0.2.
        assertThat(updates(h).get(0).getNegativity()).isCloseTo(0.2f, within(1e-6f));
    }

    @Test
    void spikeStartsAfterKSpeechHopsAboveEnterAndEndsOnlyBelowExit() throws Exception {
        var h = harness(instant()); // enter 0.6, exit 0.4, K 3
        double[] scores = {0.9, 0.9, 0.5, 0.9, 0.9, 0.9, 0.5, 0.45, 0.3, 0.9};
        List<Integer> alertsAfter = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            feed(h, speech(i, neg(scores[i])));
            alertsAfter.add(side(h, ChannelAnalytics.EMOTION_ALERTS).size());
        }
        // Two hops above (K - 1) then a dip below enter: no alert, the run restarts.
        // Three hops above (windows 3, 4, 5): start at the third. Between the thresholds (0.5, 0.45): still in the
        // spike. Below exit (0.3): end. One hop above again: no new start.
        assertThat(alertsAfter).containsExactly(0, 0, 0, 0, 0, 1, 1, 1, 2, 2);

        List<EmotionAlert> alerts = side(h, ChannelAnalytics.EMOTION_ALERTS);
        EmotionAlert start = alerts.get(0);
        assertThat(start.getKind()).isEqualTo(AlertKind.NEGATIVE_SPIKE_START);
        assertThat(start.getWindowIndex()).isEqualTo(5);
        assertThat(start.getTimeMs()).isEqualTo(6_000);
        assertThat(start.getConsecutiveHops()).isEqualTo(3);
        assertThat(start.getScore()).isCloseTo(0.9f, within(1e-3f));
        assertThat(start.getEnterThreshold()).isEqualTo(0.6f);
        assertThat(start.getExitThreshold()).isEqualTo(0.4f);
        assertThat(start.getChannel()).isEqualTo("customer");
        assertThat(start.getEvidence().getSpikeStartMs()).isEqualTo(4_000); // end of window 3, first of the run
        assertThat(start.getEvidence().getDominant()).isEqualTo(Emotion.ANGRY);
        assertThat(start.getEvidence().getSmoothed().getAngry()).isCloseTo(0.9f, within(1e-3f));
        assertThat(start.getEvidence().getPeakScore()).isCloseTo(0.9f, within(1e-3f));

        EmotionAlert end = alerts.get(1);
        assertThat(end.getKind()).isEqualTo(AlertKind.NEGATIVE_SPIKE_END);
        assertThat(end.getWindowIndex()).isEqualTo(8);
        assertThat(end.getScore()).isCloseTo(0.3f, within(1e-3f));
        assertThat(end.getConsecutiveHops()).isEqualTo(1);
        assertThat(end.getEvidence().getPeakScore()).isCloseTo(0.9f, within(1e-3f));
        assertThat(end.getEvidence().getSpikeStartMs()).isEqualTo(4_000);
        assertThat(function.spikesStarted.getCount()).isEqualTo(1);
        assertThat(function.spikesEnded.getCount()).isEqualTo(1);
    }

    @Test
    void replayingTheEmittedEventsRaisesTheSameAlerts() throws Exception {
        // What merit tune-alerts relies on: the events carry everything the alert rule reads. Default settings
        // (half-life 2 s, enter 0.5, K 3, cooldown 15 s), non-speech windows in between, two spikes.
        AnalyticsConfig config = AnalyticsConfig.defaults();
        var h = harness(new Configuration());
        double[] scores = {0.1, 0.9, 0.95, 0.9, 0.9, 0.9, 0.9, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
        int n = 0;
        for (int round = 0; round < 3; round++) {
            for (double score : scores) {
                feed(h, n % 7 == 6 ? silence(n, neg(0.9)) : speech(n, neg(score)));
                n++;
            }
        }
        List<Long> jobStarts = side(h, ChannelAnalytics.EMOTION_ALERTS).stream()
                .filter(a -> a.getKind() == AlertKind.NEGATIVE_SPIKE_START)
                .map(EmotionAlert::getTimeMs)
                .toList();
        assertThat(jobStarts).as("the scenario raises more than one spike").hasSizeGreaterThan(1);

        TrendTracker trend = new TrendTracker();
        SpikeDetector spikes = new SpikeDetector();
        List<Long> replayed = new ArrayList<>();
        long lastEnd = 0;
        for (EmotionEvent e : h.extractOutputValues()) {
            long owned = TrendTracker.ownedSamples(e.getWindowStartSample(), e.getWindowEndSample(), lastEnd);
            lastEnd = Math.max(lastEnd, e.getWindowEndSample());
            TrendAndSpikeStep.Outcome hop = TrendAndSpikeStep.replay(trend, spikes, e, owned, 1.0, config);
            if (hop.decision() != null && hop.decision().kind() == AlertKind.NEGATIVE_SPIKE_START) {
                replayed.add(e.getWindowEndMs());
            }
        }
        assertThat(replayed).isEqualTo(jobStarts);
    }

    @Test
    void cooldownDelaysTheNextStart() throws Exception {
        double[] scores = {0.9, 0.9, 0.9, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9};
        Configuration conf = instant();
        conf.set(AnalyticsOptions.ALERT_COOLDOWN, Duration.ofSeconds(5));
        var cooled = harness(conf);
        for (int i = 0; i < scores.length; i++) {
            feed(cooled, speech(i, neg(scores[i])));
        }
        List<EmotionAlert> alerts = side(cooled, ChannelAnalytics.EMOTION_ALERTS);
        assertThat(alerts)
                .extracting(EmotionAlert::getKind)
                .containsExactly(
                        AlertKind.NEGATIVE_SPIKE_START, AlertKind.NEGATIVE_SPIKE_END, AlertKind.NEGATIVE_SPIKE_START);
        assertThat(alerts.get(1).getTimeMs()).isEqualTo(4_000);
        // Above enter again from window 4 (K reached at window 6, 7 s), but 5 s after the end at 4 s is 9 s: window 8.
        assertThat(alerts.get(2).getWindowIndex()).isEqualTo(8);
        assertThat(alerts.get(2).getTimeMs()).isEqualTo(9_000);
        assertThat(alerts.get(2).getConsecutiveHops()).isEqualTo(5);
        assertThat(alerts.get(2).getEvidence().getSpikeStartMs()).isEqualTo(5_000);

        // Without the cooldown the same scores start the second spike as soon as K holds.
        var eager = harness(instant());
        for (int i = 0; i < scores.length; i++) {
            feed(eager, speech(i, neg(scores[i])));
        }
        assertThat(side(eager, ChannelAnalytics.EMOTION_ALERTS).get(2).getWindowIndex())
                .isEqualTo(6);
    }

    @Test
    void nonSpeechHopsNeitherCountTowardsKNorMoveTheTrend() throws Exception {
        var h = harness(instant());
        feed(h, speech(0, neg(0.9)), speech(1, neg(0.9)));
        // Silence the model calls furious: not a third hop towards K, and no change to the trend.
        feed(h, silence(2, neg(0.99)), silence(3, neg(0.99)));
        assertThat(side(h, ChannelAnalytics.EMOTION_ALERTS)).isEmpty();
        List<EmotionTrend> u = updates(h);
        assertThat(u.get(2).getSpeech()).isFalse();
        assertThat(u.get(2).getSmoothed()).isEqualTo(u.get(1).getSmoothed());
        assertThat(u.get(3).getSmoothed()).isEqualTo(u.get(1).getSmoothed());
        assertThat(h.extractOutputValues())
                .extracting(EmotionEvent::getSpeech)
                .containsExactly(true, true, false, false);

        // Nor do they break the run: the next speech hop above is the third.
        feed(h, speech(4, neg(0.9)));
        List<EmotionAlert> alerts = side(h, ChannelAnalytics.EMOTION_ALERTS);
        assertThat(alerts).singleElement().satisfies(a -> {
            assertThat(a.getKind()).isEqualTo(AlertKind.NEGATIVE_SPIKE_START);
            assertThat(a.getWindowIndex()).isEqualTo(4);
            assertThat(a.getConsecutiveHops()).isEqualTo(3);
            assertThat(a.getEvidence().getSpikeStartMs()).isEqualTo(1_000);
        });

        // Calm silence inside a spike does not end it either.
        feed(h, silence(5, neg(0.0)));
        assertThat(side(h, ChannelAnalytics.EMOTION_ALERTS)).hasSize(1);
    }

    @Test
    void sessionSummaryAtTheEnd() throws Exception {
        Configuration conf = new Configuration(); // half-life 2 s: alpha = 0.2928932
        conf.set(AnalyticsOptions.ALERT_ENTER_THRESHOLD, 0.5);
        conf.set(AnalyticsOptions.ALERT_EXIT_THRESHOLD, 0.3);
        conf.set(AnalyticsOptions.ALERT_CONSECUTIVE_HOPS, 1);
        var h = harness(conf);
        float[] angry = p(0.9, 0.05, 0, 0.05);
        // 4.5 s of audio: windows 0..3 own one second each, the final window (start 2 s, 2.5 s of real audio) the
        // last half second.
        feed(
                h,
                speech(0, angry),
                speech(1, angry),
                silence(2, p(0.1, 0.1, 0.1, 0.7)),
                speech(3, p(0, 0, 0, 1)),
                last(speech(4, p(0.05, 0.9, 0, 0.05)), 40_000));

        List<EmotionTrend> trends = side(h, ChannelAnalytics.EMOTION_TRENDS);
        assertThat(trends).hasSize(6);
        EmotionTrend summaryRecord = trends.get(5);
        assertThat(summaryRecord.getKind()).isEqualTo(TrendKind.SESSION_SUMMARY);
        assertThat(summaryRecord.getWindowIndex()).isEqualTo(4);
        assertThat(summaryRecord.getTimeMs()).isEqualTo(4_500);
        SessionSummary s = summaryRecord.getSummary();
        assertThat(s.getDurationMs()).isEqualTo(4_500);
        assertThat(s.getSpeechMs()).isEqualTo(3_500);
        assertThat(s.getDominant()).isEqualTo(Emotion.ANGRY);
        assertThat(s.getTimeShare().getAngry()).isCloseTo(2f / 3.5f, within(1e-6f));
        assertThat(s.getTimeShare().getSad()).isCloseTo(0.5f / 3.5f, within(1e-6f));
        assertThat(s.getTimeShare().getHappy()).isZero();
        assertThat(s.getTimeShare().getNeutral()).isCloseTo(1f / 3.5f, within(1e-6f));
        // Negativity by hand: 0.2783, 0.475 (half way to 0.95), 0.475, 0.475 * 0.7071 = 0.3359, then towards the sad
        // 0.95: 0.3359 * 0.7071 + 0.2929 * 0.95 = 0.5157 at 4.5 s, the peak.
        assertThat(s.getPeakNegativity()).isCloseTo(0.515749f, within(1e-5f));
        assertThat(s.getPeakNegativityTimeMs()).isEqualTo(4_500);
        assertThat(s.getAlertCount()).isEqualTo(1);
        assertThat(updates(h).get(1).getNegativity()).isCloseTo(0.475f, within(1e-6f));

        // The spike that started on the last window is closed by the end of the channel.
        List<EmotionAlert> alerts = side(h, ChannelAnalytics.EMOTION_ALERTS);
        assertThat(alerts)
                .extracting(EmotionAlert::getKind)
                .containsExactly(AlertKind.NEGATIVE_SPIKE_START, AlertKind.NEGATIVE_SPIKE_END);
        assertThat(alerts.get(0).getWindowIndex()).isEqualTo(4);
        assertThat(alerts.get(0).getEvidence().getDominant()).isEqualTo(Emotion.NEUTRAL);
        assertThat(alerts.get(1).getConsecutiveHops()).isZero();
        assertThat(alerts.get(1).getTimeMs()).isEqualTo(4_500);

        // The conversation metrics get one activity record per window: the speech gate's frames tile the timeline
        // once (20 ms frames, 225 in 4.5 s), the silent window has none, and the last record lists the same alerts.
        List<ChannelActivity> activity = side(h, ChannelAnalytics.CHANNEL_ACTIVITY);
        assertThat(activity).extracting(a -> a.windowIndex).containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(activity).extracting(a -> a.finalRecord).containsExactly(false, false, false, false, true);
        long nextFrame = 0;
        for (ChannelActivity a : activity) {
            assertThat(a.firstFrame).isEqualTo(nextFrame);
            nextFrame += a.speechFrames.length;
        }
        assertThat(nextFrame).isEqualTo(225);
        assertThat(activity.get(0).speechFrameCount).isEqualTo(activity.get(0).speechFrames.length);
        assertThat(activity.get(2).speech).isFalse();
        assertThat(activity.get(2).speechFrameCount).isZero();
        assertThat(activity).extracting(a -> a.ownedMs).containsExactly(1000L, 1000L, 1000L, 1000L, 500L);
        assertThat(activity.get(4).alerts)
                .extracting(a -> a.kind)
                .containsExactly(AlertKind.NEGATIVE_SPIKE_START, AlertKind.NEGATIVE_SPIKE_END);
        assertThat(activity.get(4).speechGate).isEqualTo("energy");

        assertClosed(h);
    }

    @Test
    void enhancedAudioIsContinuousAndReproducesAnIdentityModel() throws Exception {
        float[] signal = TestSignals.voiced(4 * H + 4321, 0.4, 7);
        var h = harness(new Configuration());
        for (WindowResult r : identityWindows(signal)) {
            feed(h, r);
        }
        assertAudio(side(h, ChannelAnalytics.ENHANCED_AUDIO), signal);
        assertClosed(h);
    }

    @Test
    void failedWindowHasNoEventButTheAudioStaysWhole() throws Exception {
        float[] signal = TestSignals.voiced(6 * H, 0.4, 8);
        List<WindowResult> windows = identityWindows(signal);
        WindowResult broken = windows.get(3);
        broken.failure = "model call failed twice";
        broken.enhanced = null;
        broken.emotionProbabilities = null;
        var h = harness(new Configuration());
        for (WindowResult r : windows) {
            feed(h, r);
        }
        assertThat(h.extractOutputValues())
                .extracting(EmotionEvent::getWindowIndex)
                .doesNotContain(3L);
        assertThat(h.extractOutputValues()).hasSize(windows.size() - 1);
        assertThat(function.failedWindows.getCount()).isEqualTo(1);
        // Still one UPDATE per window, the failed one unchanged and not speech.
        List<EmotionTrend> u = updates(h);
        assertThat(u).hasSize(windows.size());
        assertThat(u.get(3).getSpeech()).isFalse();
        assertThat(u.get(3).getSmoothed()).isEqualTo(u.get(2).getSmoothed());
        // Its neighbours cover its span.
        assertAudio(side(h, ChannelAnalytics.ENHANCED_AUDIO), signal);
    }

    @Test
    void outOfOrderResultsAreProcessedInWindowOrder() throws Exception {
        float[] signal = TestSignals.voiced(6 * H + 100, 0.4, 9);
        List<WindowResult> windows = identityWindows(signal);
        for (int i = 0; i < windows.size(); i++) {
            windows.get(i).emotionProbabilities = neg(0.1 * i);
        }
        var ordered = harness(new Configuration());
        for (WindowResult r : windows) {
            feed(ordered, r);
        }
        var shuffled = harness(new Configuration());
        int[] arrival = {2, 0, 3, 1, 6, 5, 4};
        assertThat(arrival).hasSize(windows.size());
        for (int i : arrival) {
            feed(shuffled, windows.get(i));
        }
        assertThat(function.reorderedWindows.getCount()).isEqualTo(4); // 2 and 3 wait for 1; 6 and 5 for 4
        assertThat(shuffled.extractOutputValues())
                .extracting(EmotionEvent::getWindowIndex)
                .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(shuffled.extractOutputValues()).isEqualTo(ordered.extractOutputValues());
        assertThat(side(shuffled, ChannelAnalytics.EMOTION_TRENDS))
                .isEqualTo(side(ordered, ChannelAnalytics.EMOTION_TRENDS));
        assertAudio(side(shuffled, ChannelAnalytics.ENHANCED_AUDIO), signal);
        assertClosed(shuffled);
    }

    @Test
    void reorderBufferIsBoundedAndLateResultsAreDropped() throws Exception {
        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.REORDER_MAX_PENDING, 2);
        var h = harness(conf);
        feed(h, speech(1, neg(0.1)), speech(2, neg(0.1)));
        assertThat(h.extractOutputValues()).isEmpty();
        // A third result waiting for window 0 is one too many: window 0 is given up on.
        feed(h, speech(3, neg(0.1)));
        assertThat(h.extractOutputValues())
                .extracting(EmotionEvent::getWindowIndex)
                .containsExactly(1L, 2L, 3L);
        assertThat(function.missingWindows.getCount()).isEqualTo(1);
        feed(h, speech(0, neg(0.1)), speech(2, neg(0.1)));
        assertThat(h.extractOutputValues()).hasSize(3);
        assertThat(function.lateWindows.getCount()).isEqualTo(2);
        feed(h, last(speech(4, neg(0.1)), 40_000));
        assertClosed(h);
        // The audio of the channel is still one continuous, complete stream.
        List<EnhancedAudioChunk> chunks = side(h, ChannelAnalytics.ENHANCED_AUDIO);
        assertThat(chunks.get(chunks.size() - 1).getEndOfStream()).isTrue();
        assertThat(totalSamples(chunks)).isEqualTo(72_000);
    }

    @Test
    void idleChannelIsClosedWithASummary() throws Exception {
        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.IDLE_TIMEOUT, Duration.ofSeconds(60));
        var h = harness(conf);
        feed(h, speech(0, neg(0.5)), speech(1, neg(0.5)), speech(3, neg(0.5)));
        assertThat(h.numProcessingTimeTimers()).isEqualTo(1);
        // Alone on its subtask, the channel's silence is also a stall of the whole input (no window for 10 s): up to
        // one idle timeout of that is left out, in case the input resumes.
        h.setProcessingTime(100_000 + 119_999);
        assertThat(side(h, ChannelAnalytics.EMOTION_TRENDS)).hasSize(2);

        h.setProcessingTime(100_000 + 120_000);
        // The held-back window 3 is processed (window 2 given up on), then the channel ends.
        assertThat(h.extractOutputValues())
                .extracting(EmotionEvent::getWindowIndex)
                .containsExactly(0L, 1L, 3L);
        List<EmotionTrend> trends = side(h, ChannelAnalytics.EMOTION_TRENDS);
        EmotionTrend summary = trends.get(trends.size() - 1);
        assertThat(summary.getKind()).isEqualTo(TrendKind.SESSION_SUMMARY);
        assertThat(summary.getSummary().getDurationMs()).isEqualTo(4_000);
        List<EnhancedAudioChunk> chunks = side(h, ChannelAnalytics.ENHANCED_AUDIO);
        assertThat(chunks.get(chunks.size() - 1).getEndOfStream()).isTrue();
        assertThat(totalSamples(chunks)).isEqualTo(64_000);
        assertThat(function.channelsIdleClosed.getCount()).isEqualTo(1);
        assertThat(function.missingWindows.getCount()).isEqualTo(1);
        assertClosed(h);
    }

    @Test
    void stragglersOfAClosedChannelProduceNothing() throws Exception {
        var h = harness(new Configuration());
        feed(h, speech(0, neg(0.1)), last(speech(1, neg(0.1)), W));
        assertClosed(h);
        int trends = side(h, ChannelAnalytics.EMOTION_TRENDS).size();
        // A result for the same channel after its end (e.g. a late retry): held back, then dropped at the timeout.
        feed(h, speech(2, neg(0.1)));
        h.setProcessingTime(100_000 + 600_000); // idle timeout 5 min, plus as much of a stalled input

        assertThat(side(h, ChannelAnalytics.EMOTION_TRENDS)).hasSize(trends);
        assertThat(h.extractOutputValues()).hasSize(2);
        assertThat(function.lateWindows.getCount()).isEqualTo(1);
        assertClosed(h);
    }

    @Test
    void noStateOrTimerIsLeftAfterTheFinalWindow() throws Exception {
        var h = harness(new Configuration());
        feed(h, speech(0, neg(0.1)), speech(1, neg(0.1)));
        assertThat(h.numKeyedStateEntries()).isEqualTo(1);
        assertThat(h.numProcessingTimeTimers()).isEqualTo(1);
        feed(h, speech(3, neg(0.1))); // held back
        assertThat(h.numKeyedStateEntries()).isEqualTo(2);
        feed(h, last(speech(2, neg(0.1)), 40_000));
        assertClosed(h);
        assertThat(function.lateWindows.getCount()).isEqualTo(1); // window 3 came after the final one
        assertThat(function.channelsClosed.getCount()).isEqualTo(1);
    }

    @Test
    void channelsOfOneCallAreAnalysedSeparately() throws Exception {
        var h = harness(instant());
        for (int i = 0; i < 4; i++) {
            feed(h, window("customer", i, neg(0.9), VOICED), window("agent", i, neg(0.1), VOICED));
        }
        feed(h, last(window("agent", 4, neg(0.1), VOICED), W));
        List<EmotionAlert> alerts = side(h, ChannelAnalytics.EMOTION_ALERTS);
        assertThat(alerts).singleElement().satisfies(a -> assertThat(a.getChannel())
                .isEqualTo("customer"));
        List<EmotionTrend> summaries = side(h, ChannelAnalytics.EMOTION_TRENDS).stream()
                .filter(t -> t.getKind() == TrendKind.SESSION_SUMMARY)
                .toList();
        assertThat(summaries).singleElement().satisfies(s -> {
            assertThat(s.getChannel()).isEqualTo("agent");
            assertThat(s.getSummary().getAlertCount()).isZero();
        });
        assertThat(h.numKeyedStateEntries())
                .as("the customer's channel is still open")
                .isEqualTo(1);
        List<EnhancedAudioChunk> chunks = side(h, ChannelAnalytics.ENHANCED_AUDIO);
        assertThat(chunks.stream().filter(c -> c.getChannel().equals("agent")).map(EnhancedAudioChunk::getSeq))
                .containsExactly(0L, 1L, 2L, 3L, 4L);
    }

    @Test
    void stateSurvivesASnapshotAndRestore() throws Exception {
        float[] signal = TestSignals.voiced(6 * H + 333, 0.4, 10);
        List<WindowResult> windows = identityWindows(signal);
        var uninterrupted = harness(instant());
        for (WindowResult r : windows) {
            feed(uninterrupted, r);
        }

        var before = harness(instant());
        feed(before, windows.get(0), windows.get(1), windows.get(3)); // 3 held back
        OperatorSubtaskState snapshot = before.snapshot(1L, 1L);
        List<EmotionEvent> events = new ArrayList<>(before.extractOutputValues());
        List<EnhancedAudioChunk> chunks = new ArrayList<>(side(before, ChannelAnalytics.ENHANCED_AUDIO));
        before.close();

        var after = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(
                        new ChannelAnalytics(AnalyticsConfig.fromConfiguration(energyGate(instant())))),
                ChannelAnalytics.keySelector(),
                Types.STRING);
        after.setProcessingTime(100_000);
        after.initializeState(snapshot);
        after.open();
        for (int i = 2; i < windows.size(); i++) {
            if (i != 3) {
                feed(after, windows.get(i));
            }
        }
        events.addAll(after.extractOutputValues());
        chunks.addAll(side(after, ChannelAnalytics.ENHANCED_AUDIO));
        assertThat(events).isEqualTo(uninterrupted.extractOutputValues());
        assertThat(chunks).isEqualTo(side(uninterrupted, ChannelAnalytics.ENHANCED_AUDIO));
        assertClosed(after);
    }

    @Test
    void aRestoreAfterAnOutageLongerThanTheIdleTimeoutContinuesTheChannel() throws Exception {
        Configuration conf = instant();
        conf.set(AnalyticsOptions.IDLE_TIMEOUT, Duration.ofSeconds(60));
        var before = harness(conf);
        feed(before, speech(0, neg(0.1)), speech(1, neg(0.1)));
        OperatorSubtaskState snapshot = before.snapshot(1L, 1L);
        before.close();

        var after = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new ChannelAnalytics(AnalyticsConfig.fromConfiguration(energyGate(conf)))),
                ChannelAnalytics.keySelector(),
                Types.STRING);
        after.setProcessingTime(100_000);
        after.initializeState(snapshot);
        after.open();
        after.setProcessingTime(100_000 + 180_000); // back 3 timeouts later: the overdue timer fires at once
        assertThat(side(after, ChannelAnalytics.EMOTION_TRENDS))
                .as("no summary before the backlog is read")
                .noneMatch(t -> t.getKind() == TrendKind.SESSION_SUMMARY);
        feed(after, speech(2, neg(0.1)), last(speech(3, neg(0.1)), W));
        assertThat(after.extractOutputValues())
                .extracting(EmotionEvent::getWindowIndex)
                .containsExactly(2L, 3L);
        assertThat(side(after, ChannelAnalytics.EMOTION_TRENDS))
                .filteredOn(t -> t.getKind() == TrendKind.SESSION_SUMMARY)
                .singleElement()
                .satisfies(t -> assertThat(t.getSummary().getDurationMs()).isEqualTo(4_000));
        assertClosed(after);
    }

    @Test
    void stateTypesAreFlinkPojosWithoutKryo() {
        assertNoGenericTypes(TypeInformation.of(ChannelState.class));
        assertNoGenericTypes(TypeInformation.of(WindowResult.class));
    }

    private static void assertNoGenericTypes(TypeInformation<?> type) {
        assertThat(type).isNotInstanceOf(GenericTypeInfo.class);
        if (type instanceof PojoTypeInfo<?> pojo) {
            for (int i = 0; i < pojo.getArity(); i++) {
                assertNoGenericTypes(pojo.getPojoFieldAt(i).getTypeInformation());
            }
        }
    }

    private static void assertClosed(KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h) {
        assertThat(h.numKeyedStateEntries()).as("keyed state entries").isZero();
        assertThat(h.numProcessingTimeTimers()).as("timers").isZero();
    }

    private static long totalSamples(List<EnhancedAudioChunk> chunks) {
        return chunks.stream().mapToLong(c -> c.getPayload().remaining() / 2).sum();
    }

    /** Chunks numbered from 0 without gaps, contiguous, hop long, ending once, and together equal to the signal. */
    private static void assertAudio(List<EnhancedAudioChunk> chunks, float[] signal) {
        long position = 0;
        float[] out = new float[signal.length];
        for (int k = 0; k < chunks.size(); k++) {
            EnhancedAudioChunk c = chunks.get(k);
            assertThat(c.getSeq()).isEqualTo(k);
            assertThat(c.getStartSample()).isEqualTo(position);
            assertThat(c.getSampleRate()).isEqualTo(16_000);
            assertThat(c.getModelVersion()).isEqualTo(MODEL);
            assertThat(c.getEndOfStream()).isEqualTo(k == chunks.size() - 1);
            ByteBuffer payload = c.getPayload().duplicate();
            byte[] pcm = new byte[payload.remaining()];
            payload.get(pcm);
            if (k < chunks.size() - 1) {
                assertThat(pcm).hasSize(2 * H);
            }
            float[] samples = Pcm16.decode(pcm);
            System.arraycopy(samples, 0, out, (int) position, samples.length);
            position += samples.length;
        }
        assertThat(position).isEqualTo(signal.length);
        double maxError = 0;
        for (int i = 0; i < signal.length; i++) {
            maxError = Math.max(maxError, Math.abs(out[i] - signal[i]));
        }
        assertThat(maxError).as("largest difference to the signal").isLessThan(1.5 / 32767);
    }
}
