package io.meritstream.cli.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AlertSweepTest {
    /** A customer angry from 10 s to 25 s of a 40 s call; the agent is calm but for a 3 s outburst at 30 s. */
    private static final GroundTruth TRUTH = new GroundTruth(
            "call-x",
            "",
            40,
            Map.of(),
            List.of(
                    new GroundTruth.Span("customer", 0, 10, "neutral"),
                    new GroundTruth.Span("customer", 10, 25, "angry"),
                    new GroundTruth.Span("agent", 0, 40, "neutral")));

    @Test
    void scoresCatchDelayAndFalseAlertsPerSetting() {
        List<EmotionEvent> events = new ArrayList<>();
        for (int w = 0; w < 40; w++) {
            long endS = w + 1;
            events.add(event("customer", w, endS > 10 && endS <= 25 ? 0.95f : 0.05f));
            events.add(event("agent", w, endS > 30 && endS <= 33 ? 0.95f : 0.05f));
        }
        AlertSweep.Score strict = score(events, new AlertSweep.Setting(Duration.ofMillis(100), 0.6, 3, 0));
        // Near-instant smoothing: negativity follows the windows. The customer's run starts with the window ending at
        // 11 s, K = 3 fires at 13 s: 3 s after the span's start. The agent's 3 hops also reach K: a false alert.
        assertThat(strict.spans()).isEqualTo(1);
        assertThat(strict.delaysS()).containsExactly(3.0);
        assertThat(strict.falseAlerts()).containsExactly(new ReportGenerator.FalseAlert("call-x", "agent", 33.0));

        AlertSweep.Score eager = score(events, new AlertSweep.Setting(Duration.ofMillis(100), 0.6, 2, 0));
        assertThat(eager.delaysS()).containsExactly(2.0);
        AlertSweep.Score patient = score(events, new AlertSweep.Setting(Duration.ofMillis(100), 0.6, 4, 0));
        assertThat(patient.delaysS()).containsExactly(4.0);
        assertThat(patient.falseAlerts())
                .as("the agent's 3 hops no longer reach K")
                .isEmpty();

        // Slower smoothing delays the same alert.
        AlertSweep.Score smooth = score(events, new AlertSweep.Setting(Duration.ofSeconds(2), 0.6, 3, 0));
        assertThat(smooth.delaysS()).singleElement().satisfies(d -> assertThat(d)
                .isGreaterThan(3.0));
    }

    @Test
    void nonSpeechWindowsNeitherCountNorBreakTheRun() {
        List<EmotionEvent> events = new ArrayList<>();
        for (int w = 0; w < 20; w++) {
            EmotionEvent e = event("customer", w, w >= 10 ? 0.95f : 0.05f);
            e.setSpeech(w != 11);
            events.add(e);
        }
        AlertSweep.Score s = score(events, new AlertSweep.Setting(Duration.ofMillis(100), 0.6, 3, 0));
        // Windows 10, 12, 13 are the three speech hops above: the alert comes at the end of window 13 (14 s).
        assertThat(s.alertsByChannel()).containsEntry("6:call-x/customer", List.of(14.0));
    }

    private static AlertSweep.Score score(List<EmotionEvent> events, AlertSweep.Setting setting) {
        return AlertSweep.score(events, Map.of("call-x", TRUTH), setting, 1.0);
    }

    /** Window {@code index} of a 3 s / 1 s windowing, with negativity (angry) {@code angry}. */
    private static EmotionEvent event(String channel, long index, float angry) {
        long end = (index + 1) * 16_000;
        return EmotionEvent.newBuilder()
                .setSessionId("call-x")
                .setChannel(channel)
                .setWindowIndex(index)
                .setWindowStartMs(Math.max(0, end / 16 - 3000))
                .setWindowEndMs(end / 16)
                .setWindowStartSample(Math.max(0, end - 48_000))
                .setWindowEndSample(end)
                .setProbabilities(new EmotionProbabilities(angry, 0f, 0f, 1 - angry))
                .setLabel(angry > 0.5 ? Emotion.ANGRY : Emotion.NEUTRAL)
                .setConfidence(Math.max(angry, 1 - angry))
                .setSpeechRatio(0.9f)
                .setSpeech(true)
                .setModelVersion("test")
                .setLatencyMs(10)
                .build();
    }
}
