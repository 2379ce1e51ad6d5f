package io.meritstream.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AlertEvidence;
import io.meritstream.avro.AlertKind;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.TrendKind;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class DemoViewTest {
    private static final EmotionProbabilities ANGRY = new EmotionProbabilities(0.7f, 0.1f, 0.1f, 0.1f);

    @Test
    void plainOutputShowsEachAlertOnceAndTheChannelsState() {
        StringWriter text = new StringWriter();
        DemoView view = new DemoView(new PrintWriter(text), false, 4);
        view.header("merit demo: test");
        view.expect("call-1", "agent", "a title");
        view.expect("call-1", "customer", null);
        view.onEvent(event());
        view.onTrend(trend(TrendKind.UPDATE, 0.2f));
        view.onTrend(trend(TrendKind.UPDATE, 0.9f));
        view.onAlert(alert());

        view.drawFinal();
        view.drawFinal();

        String out = text.toString();
        assertThat(out).contains("merit demo: test");
        assertThat(out.split("ALERT call-1 customer  NEGATIVE SPIKE START at  14.0 s", -1))
                .hasSize(2);
        assertThat(out)
                .contains("call-1   customer  ang ▆ 70%")
                .contains("angry")
                .contains("negativity ▂█");
        assertThat(out).contains("ALERT since 14.0 s").contains("agent     waiting for the first window");
        assertThat(view.allFinished()).isFalse();
    }

    @Test
    void finishedWhenEveryExpectedChannelHasItsSummary() {
        DemoView view = new DemoView(new PrintWriter(new StringWriter()), true, 1);
        view.expect("call-1", "customer", null);
        view.expect("call-1", "agent", null);
        view.onTrend(trend(TrendKind.SESSION_SUMMARY, 0.1f));
        view.onChunk(lastChunk("customer"));
        assertThat(view.allFinished()).isFalse();
        assertThat(view.unfinished()).containsExactly("call-1/agent");
    }

    @Test
    void aChannelIsNotFinishedUntilItsLastAudioChunkArrivedToo() {
        // The summary (at-least-once: visible at once) can arrive up to a checkpoint before the last enhanced-audio
        // chunk (exactly-once: visible at the checkpoint); the demo must not write the WAVs before that chunk.
        DemoView view = new DemoView(new PrintWriter(new StringWriter()), true, 1);
        view.expect("call-1", "customer", null);
        view.onTrend(trend(TrendKind.SESSION_SUMMARY, 0.1f));
        assertThat(view.allFinished()).isFalse();
        assertThat(view.unfinished()).containsExactly("call-1/customer");
        view.onChunk(lastChunk("customer"));
        assertThat(view.allFinished()).isTrue();
    }

    private static EnhancedAudioChunk lastChunk(String channel) {
        return EnhancedAudioChunk.newBuilder()
                .setSessionId("call-1")
                .setChannel(channel)
                .setSeq(9)
                .setStartSample(9 * 16_000)
                .setPayload(java.nio.ByteBuffer.wrap(new byte[320]))
                .setModelVersion("test")
                .setEndOfStream(true)
                .build();
    }

    @Test
    void sparksAndPercentiles() {
        assertThat(DemoView.spark(0f)).isEqualTo('▁');
        assertThat(DemoView.spark(1f)).isEqualTo('█');
        assertThat(DemoView.spark(Float.NaN)).isEqualTo('▁');
        long[] ring = {40, 10, 30, 20, 0, 0};
        assertThat(DemoView.percentile(ring, 4, 0.5)).isEqualTo("30 ms");
        assertThat(DemoView.percentile(ring, 4, 0.95)).isEqualTo("40 ms");
        assertThat(DemoView.percentile(ring, 0, 0.5)).isEqualTo("–");
    }

    private static EmotionEvent event() {
        return EmotionEvent.newBuilder()
                .setSessionId("call-1")
                .setChannel("customer")
                .setWindowIndex(3)
                .setWindowStartMs(3000)
                .setWindowEndMs(6000)
                .setWindowStartSample(48000)
                .setWindowEndSample(96000)
                .setProbabilities(ANGRY)
                .setLabel(Emotion.ANGRY)
                .setConfidence(0.7f)
                .setSpeechRatio(0.9f)
                .setModelVersion("test")
                .setLatencyMs(30)
                .build();
    }

    private static EmotionTrend trend(TrendKind kind, float negativity) {
        return EmotionTrend.newBuilder()
                .setSessionId("call-1")
                .setChannel("customer")
                .setKind(kind)
                .setWindowIndex(3)
                .setTimeMs(6000)
                .setSmoothed(ANGRY)
                .setNegativity(negativity)
                .setSlope(0)
                .build();
    }

    private static EmotionAlert alert() {
        return EmotionAlert.newBuilder()
                .setSessionId("call-1")
                .setChannel("customer")
                .setKind(AlertKind.NEGATIVE_SPIKE_START)
                .setTimeMs(14_000)
                .setWindowIndex(11)
                .setScore(0.8f)
                .setEnterThreshold(0.6f)
                .setExitThreshold(0.4f)
                .setConsecutiveHops(3)
                .setEvidence(new AlertEvidence(Emotion.ANGRY, ANGRY, 0.8f, 12_000L))
                .build();
    }
}
