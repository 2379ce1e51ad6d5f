package io.meritstream.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.WindowFlag;
import io.meritstream.ingest.DecodedFrame;
import io.meritstream.metrics.MetricNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.metrics.groups.InternalOperatorMetricGroup;
import org.apache.flink.runtime.metrics.groups.UnregisteredMetricGroups;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Operator-harness tests of the windower on tiny windows (6 samples, hop 2, frames of 3) so that every sample can be
 * checked. Sample values encode their timeline position ({@code p + 1}), so a zero is padding or filled silence.
 */
class SessionWindowerTest {
    private static final String SESSION = "call-1";
    private static final String CHANNEL = "agent";
    private static final int WINDOW = 6;
    private static final int HOP = 2;
    private static final int FRAME = 3;
    private static final long CAPTURE_START_MS = 1_700_000_000_000L;
    private static final long EOS_WAIT_MS = 2_000;

    private static final WindowingConfig TINY = WindowingConfig.builder()
            .windowSamples(WINDOW)
            .hopSamples(HOP)
            .reorderMaxFrames(3)
            .reorderEosWait(Duration.ofMillis(EOS_WAIT_MS))
            .build();

    private KeyedOneInputStreamOperatorTestHarness<String, DecodedFrame, WindowRequest> harness;
    private MockEnvironment environment;
    private InterceptingOperatorMetricGroup metrics;

    @AfterEach
    void closeHarness() throws Exception {
        if (harness != null) {
            harness.close();
        }
        if (environment != null) {
            environment.close();
        }
    }

    @Test
    void steadyStreamEmitsOneWindowPerHopWithExactContents() throws Exception {
        open(TINY);
        for (int seq = 0; seq < 5; seq++) {
            harness.processElement(frame(seq), 0);
        }

        List<WindowRequest> windows = output();
        // 15 samples: windows end at 2, 4, ..., 14; the first two start before the timeline and are padded.
        assertThat(windows).hasSize(7);
        for (int k = 0; k < windows.size(); k++) {
            WindowRequest w = windows.get(k);
            long start = (long) (k + 1) * HOP - WINDOW;
            assertThat(w.sessionId).isEqualTo(SESSION);
            assertThat(w.channel).isEqualTo(CHANNEL);
            assertThat(w.windowIndex).isEqualTo(k);
            assertThat(w.startSample).isEqualTo(start);
            assertThat(w.hopSamples).isEqualTo(HOP);
            assertThat(w.validSamples).isEqualTo(WINDOW);
            assertThat(w.finalWindow).isFalse();
            assertThat(w.samples).containsExactly(expected(start, WINDOW));
            assertThat(w.flags).containsExactly(start < 0 ? new WindowFlag[] {WindowFlag.PADDED_START} : noFlags());
            assertThat(w.streamStartMs).isEqualTo(CAPTURE_START_MS);
            // The frame whose samples complete the window (window end e lies in frame (e - 1) / 3).
            assertThat(w.lastArrivalMs).isEqualTo(arrival(((k + 1) * HOP - 1) / FRAME));
        }
        assertThat(counter(MetricNames.WINDOWS_EMITTED)).isEqualTo(7);
        assertThat(counter(MetricNames.SESSIONS_OPENED)).isEqualTo(1);
    }

    @Test
    void withoutEarlyFirstWindowTheFirstWindowIsFullAudio() throws Exception {
        open(WindowingConfig.builder()
                .windowSamples(WINDOW)
                .hopSamples(HOP)
                .earlyFirstWindow(false)
                .build());
        harness.processElement(frame(0), 0);
        assertThat(output()).isEmpty();

        harness.processElement(frame(1), 0);
        harness.processElement(frame(2), 0);
        List<WindowRequest> windows = output();
        assertThat(windows).extracting(w -> w.windowIndex).containsExactly(0L, 1L);
        assertThat(windows).extracting(w -> w.startSample).containsExactly(0L, 2L);
        assertThat(windows.get(0).samples).containsExactly(expected(0, WINDOW));
        assertThat(windows.get(0).flags).isEmpty();
    }

    @Test
    void defaultConfigEmitsAPaddedFirstWindowAfterOneHop() throws Exception {
        open(WindowingConfig.defaults());
        int frameSamples = 320; // 20 ms at 16 kHz
        for (int seq = 0; seq < 49; seq++) {
            harness.processElement(frameAt(CHANNEL, seq, (long) seq * frameSamples, frameSamples, false), 0);
        }
        assertThat(output()).isEmpty();

        harness.processElement(frameAt(CHANNEL, 49, 49L * frameSamples, frameSamples, false), 0);
        List<WindowRequest> windows = output();
        assertThat(windows).hasSize(1);
        WindowRequest first = windows.get(0);
        assertThat(first.samples).hasSize(48_000);
        assertThat(first.startSample).isEqualTo(-32_000);
        assertThat(first.hopSamples).isEqualTo(16_000);
        assertThat(first.flags).containsExactly(WindowFlag.PADDED_START);
        assertThat(first.samples).containsExactly(expected(-32_000, 48_000, 48_000, 0, 0));
    }

    @Test
    void aFrameLongerThanTheWindowCompletesSeveralWindows() throws Exception {
        open(TINY);
        harness.processElement(frameAt(CHANNEL, 0, 0, 13, false), 0);

        List<WindowRequest> windows = output();
        assertThat(windows).extracting(w -> w.windowIndex).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
        for (WindowRequest w : windows) {
            assertThat(w.samples).containsExactly(expected(w.startSample, WINDOW));
        }
    }

    @Test
    void outOfOrderFramesAreReorderedIntoTheSameWindows() throws Exception {
        List<WindowRequest> inOrder = run(TINY, 0, 1, 2, 3, 4, 5);
        open(TINY);
        for (long seq : new long[] {0, 2, 1, 4, 5, 3}) {
            harness.processElement(frame(seq), 0);
        }

        List<WindowRequest> reordered = output();
        assertThat(reordered).extracting(w -> w.windowIndex).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
        assertThat(reordered)
                .usingRecursiveFieldByFieldElementComparatorIgnoringFields("lastArrivalMs")
                .containsExactlyElementsOf(inOrder);
        assertThat(reordered)
                .allSatisfy(w -> assertThat(w.hasFlag(WindowFlag.GAP_FILLED)).isFalse());
        assertThat(counter(MetricNames.FRAMES_REORDERED)).isEqualTo(3); // 2, 4 and 5 waited
        assertThat(counter(MetricNames.FRAMES_DUPLICATE)).isZero();
        assertThat(counter(MetricNames.GAPS_FILLED)).isZero();
    }

    @Test
    void duplicatesAreDroppedAndCounted() throws Exception {
        List<WindowRequest> clean = run(TINY, 0, 1, 2, 3);
        open(TINY);
        // 1 again after it was consumed, 3 again while it is buffered, 0 again at the end.
        for (long seq : new long[] {0, 1, 1, 3, 3, 2, 0}) {
            harness.processElement(frame(seq), 0);
        }

        assertThat(output()).usingRecursiveFieldByFieldElementComparator().containsExactlyElementsOf(clean);
        assertThat(counter(MetricNames.FRAMES_DUPLICATE)).isEqualTo(3);
        assertThat(counter(MetricNames.FRAMES_REORDERED)).isEqualTo(1);
    }

    @Test
    void aGapBeyondTheReorderBoundIsFilledWithSilenceAndFlagged() throws Exception {
        open(TINY); // holds at most 3 out-of-order frames
        harness.processElement(frame(0), 0);
        harness.processElement(frame(2), 0);
        harness.processElement(frame(3), 0);
        harness.processElement(frame(4), 0);
        assertThat(output()).hasSize(1); // only the window ending at 2; frame 1 may still come

        harness.processElement(frame(5), 0); // a fourth frame waits: frame 1 is given up on

        List<WindowRequest> windows = output();
        // Timeline: 0..2 audio, 3..5 silence, 6..17 audio; windows end at 4, 6, ..., 18.
        assertThat(windows).extracting(w -> w.windowIndex).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
        for (WindowRequest w : windows) {
            assertThat(w.samples).containsExactly(expectedWithGap(w.startSample, WINDOW, 3, 6));
            boolean containsGap = w.startSample < 6 && w.startSample + WINDOW > 3;
            assertThat(w.hasFlag(WindowFlag.GAP_FILLED))
                    .as("window %d", w.windowIndex)
                    .isEqualTo(containsGap);
        }
        assertThat(counter(MetricNames.GAPS_FILLED)).isEqualTo(1);
        assertThat(counter(MetricNames.FRAMES_MISSING)).isEqualTo(1);
        assertThat(counter(MetricNames.GAPS_TRUNCATED)).isZero();

        harness.processElement(frame(1), 0); // too late: its place is taken by silence
        assertThat(output()).isEmpty();
        assertThat(counter(MetricNames.FRAMES_DUPLICATE)).isEqualTo(1);
    }

    @Test
    void aSeqJumpIsFilledWithAtMostTheConfiguredSilence() throws Exception {
        open(WindowingConfig.builder()
                .windowSamples(WINDOW)
                .hopSamples(HOP)
                .reorderMaxFrames(0)
                .maxGapFillSamples(6)
                .build());
        harness.processElement(frame(0), 0);
        // A producer bug skips a billion frames; only 6 samples of silence go in before the frame's 3 samples.
        harness.processElement(frameAt(CHANNEL, 1_000_000_000L, 9, FRAME, false), 0);

        List<WindowRequest> windows = output();
        assertThat(windows).extracting(w -> w.startSample).containsExactly(-4L, -2L, 0L, 2L, 4L, 6L);
        for (WindowRequest w : windows) {
            assertThat(w.samples).containsExactly(expectedWithGap(w.startSample, WINDOW, 3, 9));
        }
        assertThat(counter(MetricNames.FRAMES_MISSING)).isEqualTo(999_999_999L);
        assertThat(counter(MetricNames.GAPS_TRUNCATED)).isEqualTo(1);

        harness.processElement(frameAt(CHANNEL, 1_000_000_001L, 12, FRAME, false), 0);
        assertThat(output()).extracting(w -> w.startSample).containsExactly(8L); // the timeline goes on from there
    }

    @Test
    void repeatedSeqJumpsAddNoMoreSilenceThanTheChannelsAudioPlusOneGap() throws Exception {
        open(WindowingConfig.builder()
                .windowSamples(WINDOW)
                .hopSamples(HOP)
                .reorderMaxFrames(0)
                .maxGapFillSamples(6)
                .build());
        // A hostile producer: one 3-sample frame, then a jump of a million frames, again and again.
        long position = 0;
        for (int i = 0; i < 20; i++) {
            harness.processElement(frameAt(CHANNEL, i * 1_000_000L, position, FRAME, false), 0);
            position += FRAME + 6; // where the next frame would start if every gap got its 6 samples
        }
        harness.processElement(frameAt(CHANNEL, 20 * 1_000_000L, position, 0, true), 0);

        List<WindowRequest> windows = output();
        WindowRequest last = windows.get(windows.size() - 1);
        long timeline = last.startSample + last.validSamples;
        long audio = 20 * FRAME;
        assertThat(timeline - audio).as("silence").isEqualTo(audio + 6);
        assertThat(counter(MetricNames.GAPS_FILLED)).isEqualTo(20);
        assertThat(counter(MetricNames.GAPS_TRUNCATED)).isPositive();
    }

    @Test
    void aChannelJoinedMidCallStartsItsTimelineAtTheFirstFrameThatCame() throws Exception {
        open(TINY); // holds at most 3 out-of-order frames
        // Frames 0..4 were never read (the job started mid-call): positions count from frame 5.
        for (long seq = 5; seq < 9; seq++) {
            harness.processElement(frameAt(CHANNEL, seq, (seq - 5) * FRAME, FRAME, false), 0);
        }

        List<WindowRequest> windows = output();
        assertThat(windows).extracting(w -> w.startSample).containsExactly(-4L, -2L, 0L, 2L, 4L, 6L);
        for (WindowRequest w : windows) {
            assertThat(w.samples).containsExactly(expected(w.startSample, WINDOW));
            assertThat(w.hasFlag(WindowFlag.GAP_FILLED)).isFalse();
        }
        assertThat(windows.get(0).streamStartMs).isEqualTo(CAPTURE_START_MS);
        assertThat(counter(MetricNames.FRAMES_SKIPPED_AT_START)).isEqualTo(5);
        assertThat(counter(MetricNames.GAPS_FILLED)).isZero();
        assertThat(counter(MetricNames.FRAMES_MISSING)).isZero();
    }

    @Test
    void aDuplicateEndOfStreamAfterTheChannelClosedMakesUpNoCall() throws Exception {
        open(TINY);
        harness.setProcessingTime(1_000);
        harness.processElement(frame(0), 0);
        harness.processElement(frame(SESSION, CHANNEL, 1, 0, true), 0);
        assertThat(output()).extracting(w -> w.finalWindow).containsExactly(false, true);

        // A producer retry delivers the end of stream again: it opens the channel anew, waits, and closes it empty.
        harness.processElement(frame(SESSION, CHANNEL, 1, 0, true), 0);
        harness.setProcessingTime(1_000 + EOS_WAIT_MS);

        assertThat(output()).isEmpty();
        assertNothingLeft();
        assertThat(counter(MetricNames.FRAMES_SKIPPED_AT_START)).isEqualTo(1);
        assertThat(counter(MetricNames.SESSIONS_CLOSED)).isEqualTo(2);
    }

    @Test
    void endOfStreamFlushesThePartialWindowAndRemovesAllState() throws Exception {
        open(TINY);
        for (int seq = 0; seq < 4; seq++) {
            harness.processElement(frame(seq), 0);
        }
        output();
        assertThat(harness.numKeyedStateEntries()).isPositive();
        assertThat(harness.numProcessingTimeTimers())
                .as("no timer while no end-of-stream frame waits")
                .isZero();

        // The last frame carries one sample: the timeline ends at 13.
        harness.processElement(frame(SESSION, CHANNEL, 4, 1, true), 0);

        List<WindowRequest> windows = output();
        assertThat(windows).hasSize(1);
        WindowRequest last = windows.get(0);
        assertThat(last.windowIndex).isEqualTo(6);
        assertThat(last.startSample).isEqualTo(8);
        assertThat(last.validSamples).isEqualTo(5);
        assertThat(last.samples).containsExactly(expected(8, 5));
        assertThat(last.finalWindow).isTrue();
        assertThat(last.flags).containsExactly(WindowFlag.END_OF_STREAM);
        assertNothingLeft();
        assertThat(counter(MetricNames.SESSIONS_CLOSED)).isEqualTo(1);
        assertThat(counter(MetricNames.SESSIONS_IDLE_CLOSED)).isZero();
    }

    @Test
    void endOfStreamOnAWindowBoundaryStillEndsWithOneFinalWindow() throws Exception {
        open(TINY);
        harness.processElement(frame(0), 0);
        harness.processElement(frame(SESSION, CHANNEL, 1, 3, true), 0); // timeline ends at 6, a window end

        List<WindowRequest> windows = output();
        assertThat(windows).extracting(w -> w.finalWindow).containsExactly(false, false, false, true);
        WindowRequest last = windows.get(3);
        assertThat(last.startSample).isEqualTo(2);
        assertThat(last.validSamples).isEqualTo(WINDOW - HOP);
        assertThat(last.samples).containsExactly(expected(2, 4));
        assertNothingLeft();
    }

    @Test
    void aChannelWithoutAudioClosesWithoutWindows() throws Exception {
        open(TINY);
        harness.processElement(frame(SESSION, CHANNEL, 0, 0, true), 0);

        assertThat(output()).isEmpty();
        assertNothingLeft();
        assertThat(counter(MetricNames.SESSIONS_OPENED)).isEqualTo(1);
        assertThat(counter(MetricNames.SESSIONS_CLOSED)).isEqualTo(1);
    }

    @Test
    void anEndOfStreamThatOvertookFramesWaitsForThem() throws Exception {
        open(TINY);
        harness.setProcessingTime(1_000);
        harness.processElement(frame(0), 0);
        harness.processElement(frame(SESSION, CHANNEL, 2, 3, true), 0);
        output();

        harness.setProcessingTime(1_500);
        harness.processElement(frame(1), 0); // the straggler arrives in time

        List<WindowRequest> windows = output();
        // Timeline 0..8 with no gap: windows end at 4, 6, 8, then the final one from 4 with 5 valid samples.
        assertThat(windows).extracting(w -> w.finalWindow).containsExactly(false, false, false, true);
        assertThat(windows)
                .allSatisfy(w -> assertThat(w.hasFlag(WindowFlag.GAP_FILLED)).isFalse());
        assertThat(windows.get(3).samples).containsExactly(expected(4, 5));
        assertThat(windows.get(3).flags).containsExactly(WindowFlag.END_OF_STREAM);
        assertNothingLeft();
    }

    @Test
    void anEndOfStreamWhoseStragglersNeverComeClosesAfterTheWaitWithTheGapFilled() throws Exception {
        open(TINY);
        harness.setProcessingTime(1_000);
        harness.processElement(frame(0), 0);
        harness.processElement(frame(SESSION, CHANNEL, 2, 3, true), 0);
        output();

        harness.setProcessingTime(1_000 + EOS_WAIT_MS - 1);
        assertThat(output()).isEmpty();
        harness.setProcessingTime(1_000 + EOS_WAIT_MS);

        List<WindowRequest> windows = output();
        WindowRequest last = windows.get(windows.size() - 1);
        assertThat(last.finalWindow).isTrue();
        assertThat(last.flags).containsExactlyInAnyOrder(WindowFlag.GAP_FILLED, WindowFlag.END_OF_STREAM);
        assertThat(last.samples).containsExactly(expectedWithGap(last.startSample, last.validSamples, 3, 6));
        assertThat(counter(MetricNames.GAPS_FILLED)).isEqualTo(1);
        assertNothingLeft();
    }

    @Test
    void theGuardsIdleEndClosesTheChannelWithItsBufferedFramesFlushed() throws Exception {
        open(TINY);
        harness.processElement(frame(0), 0);
        harness.processElement(frame(1), 0);
        harness.processElement(frame(3), 0); // waits for 2, which never comes
        output();

        harness.processElement(idleEnd(4), 0);
        List<WindowRequest> windows = output();
        WindowRequest last = windows.get(windows.size() - 1);
        assertThat(last.finalWindow).isTrue();
        assertThat(last.flags).containsExactlyInAnyOrder(WindowFlag.GAP_FILLED, WindowFlag.IDLE_TIMEOUT);
        // Timeline: 0..5 audio, 6..8 silence for frame 2, 9..11 audio of frame 3.
        assertThat(last.startSample + last.validSamples).isEqualTo(12);
        for (WindowRequest w : windows) {
            assertThat(w.samples).containsExactly(expectedWithGap(w.startSample, w.validSamples, 6, 9));
        }
        assertNothingLeft();
        assertThat(counter(MetricNames.SESSIONS_IDLE_CLOSED)).isEqualTo(1);
        assertThat(counter(MetricNames.SESSIONS_CLOSED)).isEqualTo(1);
    }

    @Test
    void anIdleEndOfAChannelWithoutStateIsIgnored() throws Exception {
        open(TINY);
        harness.processElement(idleEnd(7), 0);
        assertThat(output()).isEmpty();
        assertNothingLeft();
        assertThat(counter(MetricNames.SESSIONS_OPENED)).isZero();
    }

    @Test
    void channelsAreWindowedIndependentlyAndCloseIndependently() throws Exception {
        open(TINY);
        for (int seq = 0; seq < 3; seq++) {
            harness.processElement(frame(SESSION, "agent", seq, FRAME, false), 0);
            harness.processElement(frame(SESSION, "customer", seq, FRAME, false), 0);
        }
        harness.processElement(frame(SESSION, "agent", 3, 0, true), 0);

        List<WindowRequest> windows = output();
        assertThat(windows).filteredOn(w -> w.channel.equals("agent")).hasSize(5);
        assertThat(windows).filteredOn(w -> w.channel.equals("customer")).hasSize(4);
        assertThat(windows)
                .allSatisfy(w -> assertThat(w.samples).containsExactly(expected(w.startSample, w.validSamples)));
        assertThat(harness.numKeyedStateEntries()).isPositive(); // the customer's
        assertThat(counter(MetricNames.SESSIONS_OPENED)).isEqualTo(2);
        assertThat(counter(MetricNames.SESSIONS_CLOSED)).isEqualTo(1);
    }

    @Test
    void aClosedChannelThatSpeaksAgainStartsAFreshTimeline() throws Exception {
        open(TINY);
        harness.processElement(frame(SESSION, CHANNEL, 0, FRAME, true), 0);
        output();

        harness.processElement(frame(0), 0);
        List<WindowRequest> windows = output();
        assertThat(windows).extracting(w -> w.windowIndex).containsExactly(0L);
        assertThat(counter(MetricNames.SESSIONS_OPENED)).isEqualTo(2);
    }

    @Test
    void stateSurvivesASnapshotAndRestore() throws Exception {
        List<WindowRequest> uninterrupted = run(TINY, 0, 1, 3, 4, 2, 5);

        open(TINY);
        harness.processElement(frame(0), 0);
        harness.processElement(frame(1), 0);
        harness.processElement(frame(3), 0); // waits in the reorder buffer across the restore
        List<WindowRequest> windows = output();
        OperatorSubtaskState snapshot = harness.snapshot(1L, 0L);

        open(TINY, snapshot);
        harness.processElement(frame(4), 0);
        harness.processElement(frame(2), 0);
        harness.processElement(frame(5), 0);
        windows.addAll(output());

        assertThat(windows).usingRecursiveFieldByFieldElementComparator().containsExactlyElementsOf(uninterrupted);
    }

    @Test
    void anEndOfStreamWaitingAcrossARestoreWaitsFromTheRestart() throws Exception {
        open(TINY);
        harness.setProcessingTime(1_000);
        harness.processElement(frame(0), 0);
        harness.processElement(frame(SESSION, CHANNEL, 2, FRAME, true), 0); // overtook frame 1
        List<WindowRequest> windows = output();
        OperatorSubtaskState snapshot = harness.snapshot(1L, 1_000L);

        // Back a minute later: the overdue timer fires at once, but frame 1 may still be in the backlog.
        open(TINY, snapshot);
        harness.setProcessingTime(61_000);
        assertThat(output()).as("the wait restarts with the instance").isEmpty();
        harness.setProcessingTime(61_500);
        harness.processElement(frame(1), 0);
        windows.addAll(output());

        assertThat(windows.get(windows.size() - 1).flags).containsExactly(WindowFlag.END_OF_STREAM);
        assertThat(windows)
                .allSatisfy(w -> assertThat(w.samples).containsExactly(expected(w.startSample, w.validSamples)));
        assertThat(counter(MetricNames.GAPS_FILLED)).isZero();
        assertNothingLeft();
    }

    // --- helpers ---

    private void open(WindowingConfig config) throws Exception {
        open(config, null);
    }

    /** A fresh harness, restored from {@code snapshot} when it is not null. */
    private void open(WindowingConfig config, OperatorSubtaskState snapshot) throws Exception {
        closeHarness();
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingOperatorMetricGroup operatorMetrics = metrics;
        environment = new MockEnvironmentBuilder()
                .setMetricGroup(new UnregisteredMetricGroups.UnregisteredTaskMetricGroup() {
                    @Override
                    public InternalOperatorMetricGroup getOrAddOperator(
                            OperatorID operatorID, String name, Map<String, String> additionalVariables) {
                        return operatorMetrics;
                    }
                })
                .build();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new SessionWindower(config)),
                DecodedFrame::streamKey,
                Types.STRING,
                environment);
        if (snapshot != null) {
            harness.initializeState(snapshot);
        }
        harness.open();
    }

    /** The windows of a fresh harness fed the given seqs (frames of 3 samples). */
    private List<WindowRequest> run(WindowingConfig config, long... seqs) throws Exception {
        open(config);
        for (long seq : seqs) {
            harness.processElement(frame(seq), 0);
        }
        return output();
    }

    private List<WindowRequest> output() {
        List<WindowRequest> windows = new ArrayList<>(harness.extractOutputValues());
        harness.getOutput().clear();
        return windows;
    }

    private void assertNothingLeft() {
        assertThat(harness.numKeyedStateEntries()).as("keyed state entries").isZero();
        assertThat(harness.numProcessingTimeTimers())
                .as("processing-time timers")
                .isZero();
        assertThat(harness.numEventTimeTimers()).as("event-time timers").isZero();
    }

    private long counter(String name) {
        return ((Counter) metrics.get(name)).getCount();
    }

    private static DecodedFrame frame(long seq) {
        return frameAt(CHANNEL, seq, seq * FRAME, FRAME, false);
    }

    /** Frame {@code seq} of a stream of 3-sample frames, but {@code length} long (the last one, say). */
    private static DecodedFrame frame(String session, String channel, long seq, int length, boolean endOfStream) {
        return frameAt(channel, seq, seq * FRAME, length, endOfStream);
    }

    /** A frame whose first sample is at timeline {@code position}; sample values are positions + 1. */
    private static DecodedFrame frameAt(String channel, long seq, long position, int length, boolean endOfStream) {
        float[] samples = new float[length];
        for (int i = 0; i < length; i++) {
            samples[i] = position + i + 1;
        }
        return new DecodedFrame(
                SESSION,
                channel,
                seq,
                CAPTURE_START_MS + position * 1000 / DecodedFrame.SAMPLE_RATE,
                samples,
                endOfStream,
                arrival(seq));
    }

    /** The end-of-stream frame the guard makes up when the channel has been idle. */
    private static DecodedFrame idleEnd(long seq) {
        DecodedFrame end = new DecodedFrame(SESSION, CHANNEL, seq, 0L, new float[0], true, arrival(seq));
        end.idleEnd = true;
        return end;
    }

    private static long arrival(long seq) {
        return 5_000 + seq;
    }

    /** A window of {@code WINDOW} samples from {@code start}: positions + 1 up to {@code valid}, zeros elsewhere. */
    private static float[] expected(long start, int valid) {
        return expected(start, valid, WINDOW, 0, 0);
    }

    /** As {@link #expected(long, int)}, with filled silence at positions {@code [gapFrom, gapTo)}. */
    private static float[] expectedWithGap(long start, int valid, long gapFrom, long gapTo) {
        return expected(start, valid, WINDOW, gapFrom, gapTo);
    }

    private static float[] expected(long start, int valid, int window, long gapFrom, long gapTo) {
        float[] samples = new float[window];
        for (int i = 0; i < valid; i++) {
            long p = start + i;
            boolean audio = p >= 0 && (p < gapFrom || p >= gapTo);
            samples[i] = audio ? p + 1 : 0f;
        }
        return samples;
    }

    private static WindowFlag[] noFlags() {
        return new WindowFlag[0];
    }
}
