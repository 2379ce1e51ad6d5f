package io.meritstream.ingest;

import io.meritstream.metrics.MetricNames;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Brings each (session, channel) stream to 16 kHz, keyed by {@link NativeFrame#streamKey()}.
 *
 * <p>Why keyed and after decoding: a resampler's filter spans frame boundaries, so frames resampled one by one would
 * click at every boundary. Keyed by stream, the filter's history and the frames waiting for look-ahead live in a small
 * {@link ResamplerState} and a tone split over many frames comes out exactly as it would in one piece. 16 kHz input —
 * the common case besides 8 kHz telephony — passes through without state.
 *
 * <p>The resampler follows arrival order; the windower downstream reorders by seq. A frame that does not continue the
 * segment (a seq gap or a rate change) flushes the segment (its missing look-ahead counts as silence) and starts a new
 * one; a late frame (seq already passed) is resampled on its own. Both are rare with one producer per call and Kafka's
 * per-partition order, and both are counted ({@link MetricNames#RESAMPLER_DISCONTINUITIES}). A stream that goes quiet
 * has its last frame flushed after {@code idleFlush} of processing time, so that its look-ahead does not hold back the
 * stream's latest window. The guard's idle end ({@link ChannelFrame#idleEnd}) flushes the segment and passes on.
 */
public class FrameResampler extends KeyedProcessFunction<String, NativeFrame, DecodedFrame> {
    private static final long serialVersionUID = 1L;

    private final long idleFlushMs;

    private transient ValueState<ResamplerState> state;
    private transient Counter discontinuities;

    public FrameResampler(Duration idleFlush) {
        if (idleFlush.isNegative() || idleFlush.isZero()) {
            throw new IllegalArgumentException("idleFlush must be positive, got " + idleFlush);
        }
        this.idleFlushMs = idleFlush.toMillis();
    }

    @Override
    public void open(OpenContext openContext) {
        state = getRuntimeContext().getState(new ValueStateDescriptor<>("resampler", ResamplerState.class));
        discontinuities = getRuntimeContext().getMetricGroup().counter(MetricNames.RESAMPLER_DISCONTINUITIES);
    }

    @Override
    public void processElement(NativeFrame frame, Context ctx, Collector<DecodedFrame> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        ResamplerState current = state.value();
        if (frame.idleEnd) {
            if (current != null) {
                emit(current.drain(true), out);
                end(current, ctx);
            }
            DecodedFrame end = new DecodedFrame(
                    frame.sessionId, frame.channel, frame.seq, frame.timestampMs, new float[0], true, frame.arrivalMs);
            end.idleEnd = true;
            out.collect(end);
            return;
        }
        if (current != null && !current.continuesWith(frame)) {
            discontinuities.inc();
            if (frame.seq < current.nextSeq && frame.sampleRate == current.inputRate) {
                // Late: the segment has moved past it. Resample it alone and leave the segment as it is.
                ResamplerState alone = ResamplerState.startAt(frame);
                alone.append(frame, now);
                emit(alone.drain(true), out);
                return;
            }
            emit(current.drain(true), out);
            end(current, ctx);
            current = null;
        }
        if (frame.sampleRate == DecodedFrame.SAMPLE_RATE) {
            out.collect(new DecodedFrame(
                    frame.sessionId,
                    frame.channel,
                    frame.seq,
                    frame.timestampMs,
                    frame.samples,
                    frame.endOfStream,
                    frame.arrivalMs));
            return;
        }
        boolean newSegment = current == null;
        if (newSegment) {
            current = ResamplerState.startAt(frame);
        }
        current.append(frame, now);
        emit(current.drain(frame.endOfStream), out);
        if (frame.endOfStream) {
            if (!newSegment) {
                end(current, ctx);
            }
            return;
        }
        if (newSegment) {
            current.timerMs = now + idleFlushMs;
            ctx.timerService().registerProcessingTimeTimer(current.timerMs);
        }
        state.update(current);
    }

    /** The discontinuity counter; for tests. */
    Counter discontinuitiesCounter() {
        return discontinuities;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<DecodedFrame> out) throws Exception {
        ResamplerState current = state.value();
        if (current == null) {
            return; // the segment already ended; this is its stale timer
        }
        long due = current.lastInputMs + idleFlushMs;
        if (timestamp >= due) {
            emit(current.drain(true), out);
            state.clear();
        } else {
            // One timer per segment, moved on lazily, instead of one timer per frame.
            current.timerMs = due;
            ctx.timerService().registerProcessingTimeTimer(due);
            state.update(current);
        }
    }

    /** Clears the segment's state and its pending timer, so that nothing is left behind for an ended stream. */
    private void end(ResamplerState segment, Context ctx) {
        ctx.timerService().deleteProcessingTimeTimer(segment.timerMs);
        state.clear();
    }

    private static void emit(List<DecodedFrame> frames, Collector<DecodedFrame> out) {
        for (DecodedFrame frame : frames) {
            out.collect(frame);
        }
    }
}
