package io.meritstream.cli;

import io.meritstream.avro.AlertEvidence;
import io.meritstream.avro.AlertKind;
import io.meritstream.avro.AlertMark;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.ChannelConversation;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.SessionSummary;
import io.meritstream.avro.TrendKind;
import java.util.List;

/** The job's output records with plausible values, for tests of what reads them. */
public final class TestRecords {
    private TestRecords() {}

    public static EmotionProbabilities probs(float angry) {
        float rest = (1 - angry) / 3;
        return new EmotionProbabilities(angry, rest, rest, rest);
    }

    /** Window {@code window} (hop 1 s, 3 s long). */
    public static EmotionEvent event(String session, String channel, long window, float angry) {
        EmotionProbabilities p = probs(angry);
        return EmotionEvent.newBuilder()
                .setSessionId(session)
                .setChannel(channel)
                .setWindowIndex(window)
                .setWindowStartMs(window * 1_000)
                .setWindowEndMs(window * 1_000 + 3_000)
                .setWindowStartSample(window * 16_000)
                .setWindowEndSample(window * 16_000 + 48_000)
                .setProbabilities(p)
                .setLabel(angry > 0.5 ? Emotion.ANGRY : Emotion.NEUTRAL)
                .setConfidence(Math.max(p.getAngry(), p.getNeutral()))
                .setSpeechRatio(0.9f)
                .setModelVersion("test")
                .setLatencyMs(12)
                .build();
    }

    /** The trend UPDATE after window {@code window}. */
    public static EmotionTrend trend(String session, String channel, long window, float negativity) {
        return EmotionTrend.newBuilder()
                .setSessionId(session)
                .setChannel(channel)
                .setKind(TrendKind.UPDATE)
                .setWindowIndex(window)
                .setTimeMs(window * 1_000 + 3_000)
                .setSmoothed(probs(negativity))
                .setNegativity(negativity)
                .setSlope(0)
                .build();
    }

    /** The channel's SESSION_SUMMARY after {@code windows} windows. */
    public static EmotionTrend sessionSummary(String session, String channel, long windows) {
        return EmotionTrend.newBuilder()
                .setSessionId(session)
                .setChannel(channel)
                .setKind(TrendKind.SESSION_SUMMARY)
                .setWindowIndex(windows - 1)
                .setTimeMs(windows * 1_000 + 2_000)
                .setSmoothed(probs(0.1f))
                .setNegativity(0.1f)
                .setSlope(0)
                .setSummary(new SessionSummary(
                        windows * 1_000 + 2_000, windows * 800, Emotion.NEUTRAL, probs(0.2f), 0.7f, 9_000L, 1))
                .build();
    }

    public static EmotionAlert alert(String session, String channel, AlertKind kind, long timeMs) {
        return EmotionAlert.newBuilder()
                .setSessionId(session)
                .setChannel(channel)
                .setKind(kind)
                .setTimeMs(timeMs)
                .setWindowIndex(timeMs / 1000 - 3)
                .setScore(0.8f)
                .setEnterThreshold(0.5f)
                .setExitThreshold(0.4f)
                .setConsecutiveHops(3)
                .setEvidence(new AlertEvidence(Emotion.ANGRY, probs(0.8f), 0.85f, timeMs - 2_000))
                .build();
    }

    /**
     * A two-channel call summary at {@code durationMs}: the agent talked 40 %, the customer 50 % (with an alert at 17
     * s), 15 % silence, 5 % overtalk.
     */
    public static CallSummary summary(String session, CallSummaryKind kind, long durationMs) {
        return CallSummary.newBuilder()
                .setSessionId(session)
                .setKind(kind)
                .setDurationMs(durationMs)
                .setSpeechGate("energy")
                .setSilenceMs(durationMs * 15 / 100)
                .setSilenceShare(0.15f)
                .setOvertalkMs(durationMs * 5 / 100)
                .setOvertalkShare(0.05f)
                .setLongestCustomerMonologueMs(7_900)
                .setChannels(List.of(
                        ChannelConversation.newBuilder()
                                .setChannel("agent")
                                .setTalkMs(durationMs * 40 / 100)
                                .setTalkShare(0.4f)
                                .setSpeechLevelDbfs(-23.5f)
                                .setInterruptions(1)
                                .setLongestMonologueMs(4_300)
                                .setDominant(Emotion.HAPPY)
                                .setEmotionShare(new EmotionProbabilities(0f, 0.1f, 0.6f, 0.3f))
                                .setPeakNegativity(0.12f)
                                .setPeakNegativityTimeMs(3_000)
                                .setAlerts(List.of())
                                .build(),
                        ChannelConversation.newBuilder()
                                .setChannel("customer")
                                .setTalkMs(durationMs / 2)
                                .setTalkShare(0.5f)
                                .setSpeechLevelDbfs(-19.25f)
                                .setInterruptions(2)
                                .setLongestMonologueMs(7_900)
                                .setDominant(Emotion.ANGRY)
                                .setEmotionShare(new EmotionProbabilities(0.5f, 0.1f, 0f, 0.4f))
                                .setPeakNegativity(0.63f)
                                .setPeakNegativityTimeMs(17_000)
                                .setAlerts(List.of(new AlertMark(AlertKind.NEGATIVE_SPIKE_START, 17_000L, 0.63f)))
                                .build()))
                .setModelVersion("test")
                .build();
    }
}
