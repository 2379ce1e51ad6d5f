package io.meritstream.speaker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.meritstream.ingest.DecodedFrame;
import io.meritstream.session.SessionWindower;
import io.meritstream.session.WindowRequest;
import io.meritstream.session.WindowingConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The windower with the speaker reference on (3 s windows, hop 1 s, the shipped defaults): every window carries its
 * prosody, the reference holds only earlier non-overlapping windows, the model gets it after the warm-up, and it is
 * checkpointed, restored and cleared with the channel.
 */
class SpeakerReferenceWindowingTest {
    private static final int FRAME = 320; // 20 ms
    private static final SpeakerReferenceConfig REFERENCE = new SpeakerReferenceConfig(true, 2, Duration.ofMinutes(5));

    private KeyedOneInputStreamOperatorTestHarness<String, DecodedFrame, WindowRequest> harness;

    @AfterEach
    void close() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    @Test
    void referenceHoldsEarlierNonOverlappingWindowsAndIsGivenAfterTheWarmUp() throws Exception {
        List<WindowRequest> windows = run(REFERENCE, 20, null);
        assertThat(windows).hasSizeGreaterThan(15).allSatisfy(w -> assertThat(w.prosody)
                .hasSize(ProsodyAnalyzer.FEATURES));
        // Window k starts at (k - 2) s. Segments: window 2 (0-3 s) joins at window 5, window 5 (3-6 s) at window 8.
        for (int k = 0; k < 8; k++) {
            assertThat(windows.get(k).speakerRefWeight).as("window " + k).isZero();
            assertThat(windows.get(k).referenceSpeechSeconds).isZero();
            assertThat(windows.get(k).speakerRef).containsOnly(0f);
        }
        WindowRequest first = windows.get(8);
        double decay = REFERENCE.decayPerSegment(3.0);
        assertThat(first.speakerRefWeight).isCloseTo((float) (decay + 1), within(1e-6f));
        assertThat(first.referenceSpeechSeconds).isGreaterThan(4f).isLessThanOrEqualTo(6f);
        float[] a = windows.get(2).prosody;
        float[] b = windows.get(5).prosody;
        for (int i = 0; i < ProsodyAnalyzer.FEATURES; i++) {
            double expected = a[i] + (b[i] - a[i]) / (decay + 1); // West's update of a, then b
            assertThat((double) first.speakerRef[i]).as("mean " + i).isCloseTo(expected, within(1e-4));
        }
        // One more segment per three windows: window 8 joins at window 11.
        assertThat(windows.get(10).speakerRefWeight).isEqualTo(first.speakerRefWeight);
        assertThat(windows.get(11).speakerRefWeight).isGreaterThan(first.speakerRefWeight);
        // Closed by end of stream: nothing of the channel stays behind.
        assertThat(harness.numKeyedStateEntries()).isZero();
    }

    @Test
    void turnedOffTheWindowsKeepTheirProsodyButTheModelIsNeverGivenAReference() throws Exception {
        List<WindowRequest> windows = run(new SpeakerReferenceConfig(false, 2, Duration.ofMinutes(5)), 15, null);
        assertThat(windows).allSatisfy(w -> {
            assertThat(w.prosody).hasSize(ProsodyAnalyzer.FEATURES);
            assertThat(w.speakerRefWeight).isZero();
        });
        assertThat(windows.get(5).prosody[0]).isNotZero();
    }

    @Test
    void aRestoreContinuesTheReferenceExactly() throws Exception {
        List<WindowRequest> straight = run(REFERENCE, 20, null);
        List<WindowRequest> restored = run(REFERENCE, 20, 500);
        assertThat(restored).hasSameSizeAs(straight);
        for (int k = 0; k < straight.size(); k++) {
            assertThat(restored.get(k).speakerRef).as("window " + k).containsExactly(straight.get(k).speakerRef);
            assertThat(restored.get(k).speakerRefWeight).isEqualTo(straight.get(k).speakerRefWeight);
        }
    }

    @Test
    void withoutReferenceSettingsTheWindowsCarryNoProsody() throws Exception {
        assertThat(run(null, 6, null)).allSatisfy(w -> assertThat(w.prosody).isNull());
    }

    /** {@code seconds} of a voiced 140 Hz signal then end of stream; with {@code snapshotAtFrame}, a restart there. */
    private List<WindowRequest> run(SpeakerReferenceConfig reference, int seconds, Integer snapshotAtFrame)
            throws Exception {
        harness = open(reference, null);
        int frames = seconds * 16_000 / FRAME;
        List<WindowRequest> out = new ArrayList<>();
        for (int seq = 0; seq < frames; seq++) {
            if (snapshotAtFrame != null && seq == snapshotAtFrame) {
                out.addAll(drain());
                OperatorSubtaskState snapshot = harness.snapshot(1, 1);
                harness.close();
                harness = open(reference, snapshot);
            }
            harness.processElement(frame(seq, seq == frames - 1), 0);
        }
        out.addAll(drain());
        return out;
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, DecodedFrame, WindowRequest> open(
            SpeakerReferenceConfig reference, OperatorSubtaskState snapshot) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new SessionWindower(WindowingConfig.defaults(), reference)),
                DecodedFrame::streamKey,
                Types.STRING);
        if (snapshot != null) {
            h.initializeState(snapshot);
        }
        h.open();
        return h;
    }

    private List<WindowRequest> drain() {
        List<WindowRequest> out = new ArrayList<>();
        for (Object o : harness.getOutput()) {
            if (o instanceof StreamRecord<?> r) {
                out.add((WindowRequest) r.getValue());
            }
        }
        harness.getOutput().clear();
        return out;
    }

    /** A voiced signal with a syllable envelope, continuous across frames. */
    private static DecodedFrame frame(long seq, boolean endOfStream) {
        float[] x = new float[FRAME];
        for (int i = 0; i < FRAME; i++) {
            double t = (seq * FRAME + i) / 16_000.0;
            double voiced = 0;
            for (int h = 1; h <= 8; h++) {
                voiced += Math.sin(2 * Math.PI * h * 140 * t) / h;
            }
            x[i] = (float) (0.05 * (1 + Math.sin(2 * Math.PI * 3 * t)) * voiced);
        }
        return new DecodedFrame("call-1", "agent", seq, 1_700_000_000_000L + seq * 20, x, endOfStream, 5_000 + seq);
    }
}
