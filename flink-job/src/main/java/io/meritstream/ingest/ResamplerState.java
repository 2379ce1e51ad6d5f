package io.meritstream.ingest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The streaming state of one (session, channel) whose input is not at 16 kHz: a contiguous run ("segment") of input
 * frames, the input samples the filter still needs, and the frames whose output waits for look-ahead. Kept in keyed
 * state by {@link FrameResampler}; a Flink POJO of primitive arrays, so it is small and cheap to serialize (a few
 * hundred samples plus one frame).
 *
 * <p>Alignment: within a segment, output sample {@code k} lies at input position {@code k·M/L}, so the output is not
 * delayed. A frame covering input samples [a, b) of the segment gets exactly the outputs [ceil(a·L/M), ceil(b·L/M)),
 * which sum to ceil(n·L/M) for n input samples whatever the frame sizes. Each such output needs {@link
 * PolyphaseFilter#halfTaps()} input samples beyond b, so a frame is emitted once enough of its successors have arrived
 * (one frame of latency in practice), or when the segment is flushed: at end of stream, at a gap or rate change, or when
 * the stream goes idle; then the missing look-ahead counts as silence.
 */
public class ResamplerState {
    public String sessionId;
    public String channel;
    public int inputRate;
    /** The seq that continues this segment. */
    public long nextSeq;
    /** Input samples appended to the segment so far. */
    public long received;
    /** Segment index of {@code buffer[0]}. */
    public long bufferStart;

    public float[] buffer;
    public int bufferLength;
    /** Next output sample to compute. */
    public long nextOutput;

    // Frames whose output is not yet emitted, oldest first; parallel arrays keep the POJO compact.
    public int pendingCount;
    public long[] pendingSeq;
    public long[] pendingTimestampMs;
    public long[] pendingArrivalMs;
    /** Segment index one past the frame's last input sample. */
    public long[] pendingEnd;
    /** Whether the newest pending frame ends the stream. */
    public boolean endOfStream;
    /** Processing time of the last appended frame, for the idle flush. */
    public long lastInputMs;
    /** The registered idle-flush timer, deleted when the segment ends otherwise. */
    public long timerMs;

    public ResamplerState() {}

    static ResamplerState startAt(NativeFrame frame) {
        ResamplerState state = new ResamplerState();
        state.sessionId = frame.sessionId;
        state.channel = frame.channel;
        state.inputRate = frame.sampleRate;
        state.nextSeq = frame.seq;
        state.buffer = new float[Math.max(16, frame.samples.length * 2)];
        state.pendingSeq = new long[4];
        state.pendingTimestampMs = new long[4];
        state.pendingArrivalMs = new long[4];
        state.pendingEnd = new long[4];
        return state;
    }

    /** Whether {@code frame} continues this segment: the next seq at the same rate. */
    boolean continuesWith(NativeFrame frame) {
        return frame.seq == nextSeq && frame.sampleRate == inputRate;
    }

    void append(NativeFrame frame, long nowMs) {
        ensureBufferCapacity(bufferLength + frame.samples.length);
        System.arraycopy(frame.samples, 0, buffer, bufferLength, frame.samples.length);
        bufferLength += frame.samples.length;
        received += frame.samples.length;

        if (pendingCount == pendingSeq.length) {
            int capacity = pendingCount * 2;
            pendingSeq = Arrays.copyOf(pendingSeq, capacity);
            pendingTimestampMs = Arrays.copyOf(pendingTimestampMs, capacity);
            pendingArrivalMs = Arrays.copyOf(pendingArrivalMs, capacity);
            pendingEnd = Arrays.copyOf(pendingEnd, capacity);
        }
        pendingSeq[pendingCount] = frame.seq;
        pendingTimestampMs[pendingCount] = frame.timestampMs;
        pendingArrivalMs[pendingCount] = frame.arrivalMs;
        pendingEnd[pendingCount] = received;
        pendingCount++;
        endOfStream = frame.endOfStream;
        nextSeq = frame.seq + 1;
        lastInputMs = nowMs;
    }

    /**
     * Emits the pending frames whose look-ahead has arrived, or all of them when {@code flush} (the segment ends: input
     * past its end counts as zero). Returns them in seq order at 16 kHz.
     */
    List<DecodedFrame> drain(boolean flush) {
        PolyphaseFilter filter = PolyphaseFilter.of(inputRate, DecodedFrame.SAMPLE_RATE);
        List<DecodedFrame> out = new ArrayList<>(pendingCount);
        int emitted = 0;
        while (emitted < pendingCount && (flush || received >= pendingEnd[emitted] + filter.halfTaps())) {
            long end = filter.outputsFor(pendingEnd[emitted]);
            float[] samples = new float[(int) (end - nextOutput)];
            for (int i = 0; i < samples.length; i++) {
                samples[i] = (float) filter.output(nextOutput + i, buffer, bufferStart, bufferLength, received);
            }
            nextOutput = end;
            boolean last = emitted == pendingCount - 1;
            out.add(new DecodedFrame(
                    sessionId,
                    channel,
                    pendingSeq[emitted],
                    pendingTimestampMs[emitted],
                    samples,
                    last && flush && endOfStream,
                    pendingArrivalMs[emitted]));
            emitted++;
        }
        if (emitted > 0) {
            int remaining = pendingCount - emitted;
            System.arraycopy(pendingSeq, emitted, pendingSeq, 0, remaining);
            System.arraycopy(pendingTimestampMs, emitted, pendingTimestampMs, 0, remaining);
            System.arraycopy(pendingArrivalMs, emitted, pendingArrivalMs, 0, remaining);
            System.arraycopy(pendingEnd, emitted, pendingEnd, 0, remaining);
            pendingCount = remaining;
            discardInputBefore(filter.firstInputOf(nextOutput));
        }
        return out;
    }

    private void discardInputBefore(long segmentIndex) {
        int drop = (int) Math.min(bufferLength, Math.max(0, segmentIndex - bufferStart));
        if (drop > 0) {
            System.arraycopy(buffer, drop, buffer, 0, bufferLength - drop);
            bufferLength -= drop;
            bufferStart += drop;
        }
    }

    private void ensureBufferCapacity(int needed) {
        if (needed > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(needed, buffer.length * 2));
        }
    }
}
