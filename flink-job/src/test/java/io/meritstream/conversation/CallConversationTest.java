package io.meritstream.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.analytics.ChannelActivity;
import io.meritstream.avro.AlertKind;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.ChannelConversation;
import io.meritstream.avro.Emotion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class CallConversationTest {
    /** 10 ms frames, so that frame counts read as centiseconds. */
    private static final int FRAME = 160;

    private static final ConversationConfig CONFIG = ConversationConfig.defaults(); // hangover 300 ms, pause 2 s

    /** Speech decisions for frames [from, to): true inside the given [start, end) runs. */
    private static boolean[] frames(int from, int to, int[]... speech) {
        boolean[] out = new boolean[to - from];
        for (int f = from; f < to; f++) {
            for (int[] run : speech) {
                if (f >= run[0] && f < run[1]) {
                    out[f - from] = true;
                }
            }
        }
        return out;
    }

    private static ChannelActivity hop(String channel, int from, int to, boolean finalRecord, int[]... speech) {
        ChannelActivity a = new ChannelActivity();
        a.sessionId = "call-1";
        a.channel = channel;
        a.windowIndex = from / 100;
        a.timeMs = to * 10L;
        a.frameSamples = FRAME;
        a.firstFrame = from;
        a.speechFrames = frames(from, to, speech);
        for (boolean s : a.speechFrames) {
            if (s) {
                a.speechFrameCount++;
                a.speechSumOfSquares += FRAME * 0.01; // every speech sample at amplitude 0.1: -20 dBFS
            }
        }
        a.speech = a.speechFrameCount > 0;
        a.ownedMs = (to - from) * 10L;
        a.emotionProbabilities = channel.equals("customer") && from >= 300
                ? new float[] {0.8f, 0.1f, 0f, 0.1f}
                : new float[] {0f, 0f, 0.1f, 0.9f};
        a.negativity = a.emotionProbabilities[0];
        a.finalRecord = finalRecord;
        a.modelVersion = "test 1";
        a.speechGate = "silero-vad-v5";
        return a;
    }

    /**
     * Agent talks for 1 s, the customer from 2 s to 5 s, the agent breaks in at 4 s for half a second; 6 s in all,
     * the customer's records arriving two hops behind the agent's.
     */
    private static List<ChannelActivity> scriptedCall() {
        int[] agentFirst = {0, 100};
        int[] agentBreaksIn = {400, 450};
        int[] customer = {200, 500};
        List<ChannelActivity> records = new ArrayList<>();
        for (int hop = 0; hop < 8; hop++) {
            if (hop < 6) {
                records.add(hop("agent", hop * 100, hop * 100 + 100, hop == 5, agentFirst, agentBreaksIn));
            }
            int c = hop - 2;
            if (c >= 0) {
                records.add(hop("customer", c * 100, c * 100 + 100, c == 5, customer));
            }
        }
        ChannelActivity alert = records.stream()
                .filter(r -> r.channel.equals("customer") && r.firstFrame == 400)
                .findFirst()
                .orElseThrow();
        alert.alerts =
                new ChannelActivity.Alert[] {new ChannelActivity.Alert(AlertKind.NEGATIVE_SPIKE_START, 5000, 0.8f)};
        return records;
    }

    @Test
    void talkSilenceOvertalkInterruptionsAndMonologuesOfAScriptedCall() {
        CallState call = new CallState();
        for (ChannelActivity record : scriptedCall()) {
            call.add(record, CONFIG);
        }
        assertThat(call.finished()).isTrue();
        CallSummary summary = call.summary(CallSummaryKind.FINAL, CONFIG);

        assertThat(summary.getDurationMs()).isEqualTo(6000);
        // Talk runs on 300 ms past each speech frame: agent [0, 1.3 s) and [4.0, 4.8 s), customer [2.0, 5.3 s).
        ChannelConversation agent = summary.getChannels().get(0);
        ChannelConversation customer = summary.getChannels().get(1);
        assertThat(agent.getChannel()).isEqualTo("agent");
        assertThat(agent.getTalkMs()).isEqualTo(1300 + 800);
        assertThat(customer.getTalkMs()).isEqualTo(3300);
        assertThat(customer.getTalkShare()).isEqualTo(0.55f);
        assertThat(summary.getSilenceMs()).isEqualTo(700 + 700); // [1.3, 2.0) and [5.3, 6.0)
        assertThat(summary.getOvertalkMs()).isEqualTo(800); // [4.0, 4.8)
        assertThat(summary.getOvertalkShare()).isEqualTo(800f / 6000);
        assertThat(agent.getInterruptions()).isEqualTo(1);
        assertThat(customer.getInterruptions()).isZero(); // the agent had stopped when the customer began
        assertThat(agent.getLongestMonologueMs()).isEqualTo(1300);
        assertThat(customer.getLongestMonologueMs()).isEqualTo(2000); // [2.0, 4.0), until the agent broke in
        assertThat(summary.getLongestCustomerMonologueMs()).isEqualTo(2000);
        assertThat(agent.getSpeechLevelDbfs()).isCloseTo(-20f, org.assertj.core.data.Offset.offset(0.01f));

        // The customer's speech windows from 3 s on were angry: 2 of its 3 s of speech windows.
        assertThat(customer.getEmotionShare().getAngry()).isCloseTo(2f / 3, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(customer.getDominant()).isEqualTo(Emotion.ANGRY);
        assertThat(agent.getDominant()).isEqualTo(Emotion.NEUTRAL);
        assertThat(customer.getPeakNegativity()).isEqualTo(0.8f);
        assertThat(customer.getAlerts()).hasSize(1);
        assertThat(customer.getAlerts().get(0).getTimeMs()).isEqualTo(5000);
        assertThat(summary.getSpeechGate()).isEqualTo("silero-vad-v5");
        assertThat(summary.getModelVersion()).isEqualTo("test 1");
    }

    @Test
    void aChannelThatFallsTooFarBehindCountsAsSilentAndItsLateFramesAreDropped() {
        Configuration conf = new Configuration();
        conf.set(ConversationOptions.MAX_CHANNEL_LAG, Duration.ofSeconds(10));
        ConversationConfig config = ConversationConfig.fromConfiguration(conf);
        CallState call = new CallState();
        call.add(hop("customer", 0, 100, false, new int[] {0, 100}), config);
        for (int hop = 0; hop < 30; hop++) { // the agent runs 30 s ahead
            call.add(hop("agent", hop * 100, hop * 100 + 100, false), config);
        }
        assertThat(call.alignedFrames).isEqualTo(3000 - 1000); // 10 s behind the agent's newest frame at most
        assertThat(call.channels[1].pendingCount).isEqualTo(1000); // no more than the lag is held
        // The customer's frames for time already lined up are dropped; the rest line up.
        call.add(hop("customer", 100, 2500, false, new int[] {100, 2500}), config);
        assertThat(call.alignedFrames).isEqualTo(2500);
        assertThat(call.channels[0].talkFrames).isEqualTo(100 + 30 + 500); // [0, 1.3 s) then [20, 25 s)
    }

    @Test
    void summariesComeEveryProgressIntervalAndOnceAtTheEndThenTheStateIsGone() throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<String, ChannelActivity, CallSummary> h =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                        new CallConversation(CONFIG), CallConversation.keySelector(), Types.STRING)) {
            h.open();
            for (ChannelActivity record : scriptedCall()) {
                h.processElement(record, 0);
            }
            List<CallSummary> out = h.extractOutputValues();
            assertThat(out)
                    .extracting(CallSummary::getKind)
                    .containsExactly(CallSummaryKind.PROGRESS, CallSummaryKind.FINAL);
            assertThat(out.get(0).getDurationMs()).isEqualTo(5000); // at the first 5 s of call time lined up
            assertThat(out.get(1).getDurationMs()).isEqualTo(6000);
            assertThat(h.numKeyedStateEntries()).isZero();
            assertThat(h.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void badOptionsFailNamingTheOption() {
        Configuration conf = new Configuration();
        conf.set(ConversationOptions.PROGRESS_INTERVAL, Duration.ofMillis(10));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ConversationConfig.fromConfiguration(conf))
                .hasMessageContaining("'conversation.progress-interval' is 10 ms; allowed: 1000 ms to 3600000 ms.");
        Configuration blank = new Configuration();
        blank.set(ConversationOptions.CUSTOMER_CHANNEL, " ");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ConversationConfig.fromConfiguration(blank))
                .hasMessageContaining("'conversation.customer-channel' is empty");
    }
}
