package io.meritstream.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.ingest.NativeFrame;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StreamGuardTest {
    private static final WindowingConfig CONFIG = WindowingConfig.builder()
            .reorderMaxFrames(50)
            .reorderEosWait(Duration.ofSeconds(2))
            .build();

    private KeyedOneInputStreamOperatorTestHarness<String, NativeFrame, NativeFrame> harness;
    private StreamGuard guard;

    @AfterEach
    void close() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    @Test
    void framesAfterTheEndOfStreamBecomeDeadLettersNotASecondTimeline() throws Exception {
        open(null);
        harness.setProcessingTime(1_000);
        feed(frame("call-1", 0, false), frame("call-1", 1, false), frame("call-1", 3, true));
        // Within eos-wait, a frame the end overtook (2) still passes; one numbered after the end (4) does not.
        harness.setProcessingTime(2_000);
        feed(frame("call-1", 2, false), frame("call-1", 4, false));
        // Once the windower has closed the stream, even a repeat of an earlier frame would open a new timeline.
        harness.setProcessingTime(3_500);
        feed(frame("call-1", 1, false));

        assertThat(passedSeqs()).containsExactly(0L, 1L, 3L, 2L);
        List<DeadLetter> letters = deadLetters();
        assertThat(letters)
                .extracting(DeadLetter::getReason)
                .containsExactly(DeadLetterReason.AFTER_END_OF_STREAM, DeadLetterReason.AFTER_END_OF_STREAM);
        DeadLetter first = letters.get(0);
        assertThat(first.getMessage().toString())
                .contains("frame seq 4 of call-1/customer")
                .contains("end-of-stream frame (seq 3");
        // Where the record is: it was valid, so its coordinates stand in for its bytes.
        assertThat(first.getSourceTopic().toString()).isEqualTo("audio-frames");
        assertThat(first.getPartition()).isEqualTo(2);
        assertThat(first.getOffset()).isEqualTo(104);
        assertThat(first.getKey()).isEqualTo(ByteBuffer.wrap("call-1".getBytes(StandardCharsets.UTF_8)));
        assertThat(first.getOriginalSize()).isEqualTo(640);
        assertThat(first.getOriginal().remaining()).isEqualTo(640);
        // What passes on no longer carries the record's bytes.
        assertThat(harness.extractOutputValues())
                .allSatisfy(f -> assertThat(f.source).isNull());
        assertThat(guard.deadLetterCounter(DeadLetterReason.AFTER_END_OF_STREAM).getCount())
                .isEqualTo(2);
        // Other streams are not affected.
        feed(frame("call-2", 0, false));
        assertThat(passedSeqs()).endsWith(0L);
    }

    @Test
    void aSeqFarBehindTheNewestIsAResetNotALateFrame() throws Exception {
        open(null);
        for (long seq = 0; seq <= 200; seq++) {
            feed(frame("call-1", seq, false));
        }
        // 40 behind: a late frame, the windower's to judge. 150 behind: a producer that started again.
        feed(frame("call-1", 160, false), frame("call-1", 50, false), frame("call-1", 0, false));
        assertThat(passedSeqs()).hasSize(202).endsWith(160L);
        assertThat(deadLetters())
                .extracting(DeadLetter::getReason)
                .containsExactly(DeadLetterReason.SEQ_RESET, DeadLetterReason.SEQ_RESET);
        assertThat(deadLetters().get(1).getMessage().toString())
                .contains("is 200 frames behind the newest (seq 200)")
                .contains("windowing.reorder.max-frames");
        assertThat(guard.deadLetterCounter(DeadLetterReason.SEQ_RESET).getCount())
                .isEqualTo(2);
    }

    @Test
    void afterARestoreTheWaitForOvertakenFramesCountsFromTheRestart() throws Exception {
        open(null);
        harness.setProcessingTime(1_000);
        feed(frame("call-1", 0, false), frame("call-1", 2, true));
        OperatorSubtaskState snapshot = harness.snapshot(1L, 1_000L);
        harness.close();

        // Back after an outage of a minute: frame 1, which the end overtook, is still in the backlog.
        open(snapshot);
        harness.setProcessingTime(61_000);
        feed(frame("call-1", 1, false), frame("call-1", 3, false));
        assertThat(passedSeqs()).containsExactly(1L);
        assertThat(deadLetters())
                .extracting(DeadLetter::getReason)
                .containsExactly(DeadLetterReason.AFTER_END_OF_STREAM);
    }

    @Test
    void aFloodOfNewIdsIsBoundedByTheCap() throws Exception {
        open(null, WindowingConfig.builder().maxLiveStreams(1_000).build());
        for (int i = 0; i < 100_000; i++) {
            harness.processElement(tinyFrame("flood-" + i), 0);
        }
        assertThat(harness.extractOutputValues()).hasSize(1_000);
        assertThat(guard.deadLetterCounter(DeadLetterReason.STREAM_LIMIT).getCount())
                .isEqualTo(99_000);
        assertThat(deadLetters().get(0).getMessage().toString())
                .contains("flood-1000/customer would be stream 1001 of this subtask")
                .contains("windowing.max-live-streams (1000)");
        // State only for the admitted streams: the 99,000 refused ones cost a dead letter each and nothing more.
        assertThat(harness.numKeyedStateEntries()).isEqualTo(1_000);
        assertThat(guard.liveStreams()).isEqualTo(1_000);
    }

    @Test
    void aSlotFreesWhenAStreamEndsOrIdlesOut() throws Exception {
        // Idle time on the wall clock here: the input below stalls, which would otherwise hold the slots.
        open(
                null,
                WindowingConfig.builder()
                        .maxLiveStreams(2)
                        .maxInputStall(Duration.ZERO)
                        .build());
        harness.setProcessingTime(1_000);
        feed(frame("a", 0, false), frame("b", 0, false), frame("c", 0, false));
        assertThat(deadLetters()).extracting(DeadLetter::getReason).containsExactly(DeadLetterReason.STREAM_LIMIT);
        // a and b go on; b ends: c gets its slot.
        feed(frame("a", 1, false), frame("b", 1, true), frame("c", 0, false));
        // 30 s later nothing came from a or c: both are closed idle, d and e get in.
        harness.setProcessingTime(31_001);
        assertThat(harness.extractOutputValues())
                .filteredOn(f -> f.idleEnd)
                .extracting(f -> f.sessionId)
                .containsExactlyInAnyOrder("a", "c");
        harness.getOutput().clear();
        feed(frame("d", 0, false), frame("e", 0, false), frame("f", 0, false));
        assertThat(harness.extractOutputValues().stream().map(f -> f.sessionId)).containsExactly("d", "e");
        assertThat(deadLetters())
                .extracting(DeadLetter::getReason)
                .containsExactly(DeadLetterReason.STREAM_LIMIT, DeadLetterReason.STREAM_LIMIT);
    }

    @Test
    void aStreamWithoutFramesForTheIdleTimeoutIsEndedHereAndLaterFramesAreRefused() throws Exception {
        open(null); // idle timeout 30 s
        harness.setProcessingTime(1_000);
        feed(frame("quiet", 0, false), frame("quiet", 1, false));
        // Another call keeps the subtask's input going, so the quiet one's silence is its own.
        for (long t = 1_500, seq = 0; t <= 40_000; t += 500, seq++) {
            harness.setProcessingTime(t);
            feed(frame("busy", seq, false));
        }
        List<NativeFrame> ends =
                harness.extractOutputValues().stream().filter(f -> f.idleEnd).toList();
        assertThat(ends).singleElement().satisfies(end -> {
            assertThat(end.sessionId).isEqualTo("quiet");
            assertThat(end.seq).isEqualTo(2);
            assertThat(end.endOfStream).isTrue();
            assertThat(end.samples).isEmpty();
            assertThat(end.sampleRate).isEqualTo(16_000);
            assertThat(end.arrivalMs).isEqualTo(31_000);
        });
        assertThat(guard.liveStreams()).isEqualTo(1);

        // The quiet call speaks again: it was ended, so this is no second timeline but a dead letter.
        feed(frame("quiet", 2, false));
        assertThat(deadLetters()).singleElement().satisfies(d -> {
            assertThat(d.getReason()).isEqualTo(DeadLetterReason.AFTER_END_OF_STREAM);
            assertThat(d.getMessage().toString())
                    .contains("closed for having no frame for windowing.idle-timeout (30000 ms)");
        });
        assertThat(harness.extractOutputValues())
                .filteredOn(f -> f.sessionId.equals("quiet"))
                .hasSize(3);
    }

    @Test
    void aStalledInputDoesNotCloseLiveStreams() throws Exception {
        open(null);
        harness.setProcessingTime(1_000);
        feed(frame("call-1", 0, false), frame("call-2", 0, false));
        // No frame of any stream for three idle timeouts: inference back-pressure or a Kafka outage, not two ends.
        harness.setProcessingTime(91_000);
        assertThat(harness.extractOutputValues()).noneMatch(f -> f.idleEnd);
        feed(frame("call-1", 1, false), frame("call-2", 1, true));
        assertThat(passedSeqs()).containsExactly(0L, 0L, 1L, 1L);
        assertThat(deadLetters()).isEmpty();
        // call-1 then stops while nothing else comes either: the stall counts no more than windowing.max-input-stall
        // (5 min), so it closes one idle timeout plus that after its last frame.
        harness.setProcessingTime(91_000 + 330_000 - 1);
        assertThat(harness.extractOutputValues()).noneMatch(f -> f.idleEnd);
        harness.setProcessingTime(91_000 + 330_000);
        assertThat(harness.extractOutputValues()).filteredOn(f -> f.idleEnd).hasSize(1);
    }

    @Test
    void aRestoreAfterAnOutageLongerThanTheIdleTimeoutContinuesTheCall() throws Exception {
        open(null);
        harness.setProcessingTime(1_000);
        feed(frame("call-1", 0, false), frame("call-1", 1, false));
        OperatorSubtaskState snapshot = harness.snapshot(1L, 1_000L);
        harness.close();

        // Back three idle timeouts later; the overdue timer fires at once, the call's next frames are in the backlog.
        open(snapshot);
        harness.setProcessingTime(91_000);
        assertThat(harness.extractOutputValues()).as("no close on restore").isEmpty();
        harness.setProcessingTime(91_100);
        feed(frame("call-1", 2, false), frame("call-1", 3, true));
        assertThat(passedSeqs()).containsExactly(2L, 3L);
        assertThat(deadLetters()).isEmpty();
    }

    private void open(OperatorSubtaskState restoreFrom) throws Exception {
        open(restoreFrom, CONFIG);
    }

    private void open(OperatorSubtaskState restoreFrom, WindowingConfig config) throws Exception {
        guard = new StreamGuard(config, 1024);
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(guard), NativeFrame::streamKey, Types.STRING);
        if (restoreFrom != null) {
            harness.initializeState(restoreFrom);
        }
        harness.open();
    }

    private void feed(NativeFrame... frames) throws Exception {
        for (NativeFrame f : frames) {
            harness.processElement(f, 0);
        }
    }

    private List<Long> passedSeqs() {
        return harness.extractOutputValues().stream().map(f -> f.seq).toList();
    }

    private List<DeadLetter> deadLetters() {
        var queue = harness.getSideOutput(StreamGuard.DEAD_LETTERS);
        return queue == null
                ? List.of()
                : queue.stream().map(StreamRecord::getValue).toList();
    }

    private static NativeFrame tinyFrame(String session) {
        return new NativeFrame(session, "customer", 0, 0, 16_000, new float[4], false, 0)
                .from(new IngestRecord("audio-frames", 0, 0, null, new byte[8], 0, 0));
    }

    private static NativeFrame frame(String session, long seq, boolean endOfStream) {
        byte[] value = new byte[640];
        return new NativeFrame(session, "customer", seq, 1_000 + 20 * seq, 16_000, new float[320], endOfStream, 0)
                .from(new IngestRecord(
                        "audio-frames", 2, 100 + seq, session.getBytes(StandardCharsets.UTF_8), value, 0, 0));
    }
}
