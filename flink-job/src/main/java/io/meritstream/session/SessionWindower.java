package io.meritstream.session;

import io.meritstream.avro.WindowFlag;
import io.meritstream.ingest.DecodedFrame;
import io.meritstream.metrics.MetricNames;
import io.meritstream.speaker.ChannelReference;
import io.meritstream.speaker.SpeakerReferenceConfig;
import io.meritstream.speaker.SpeakerReferenceTracker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Cuts each channel's frames (keyed by {@link DecodedFrame#streamKey()}) into overlapping analysis windows.
 *
 * <p>Frames are put into the channel's timeline in seq order. A frame ahead of the next expected seq waits in a bounded
 * reorder buffer; when the buffer holds more than {@link WindowingConfig#reorderMaxFrames()} frames, the missing frames
 * are given up on and replaced by silence of the latest frame's length (at most {@code windowing.max-gap-fill}), and
 * every window containing it is flagged {@link WindowFlag#GAP_FILLED}; frames missing before the channel's first frame
 * are skipped instead. Frames at or below a consumed seq, or equal to a buffered one, are duplicates and are dropped.
 * Nothing disappears uncounted: every frame is in the timeline or counted as a duplicate, every missing frame is counted
 * as filled or skipped.
 *
 * <p>Each time the timeline reaches the end of the next window, that window is emitted from a ring buffer of one window
 * length. The channel is closed by its end-of-stream frame, or by the {@link StreamGuard}'s idle end: buffered frames
 * are flushed, the last partial window is emitted zero-padded with {@code finalWindow} set (and {@code IDLE_TIMEOUT}
 * after an idle end), and all state and the timer are removed. State TTL is only a backstop for state a timer could not
 * reach.
 *
 * <p>When the model takes a speaker reference, each window also gets its prosody features and the channel's running
 * reference ({@link SpeakerReferenceTracker}), kept in {@link StreamState#speakerReference} and cleared with it.
 *
 * <p>State per channel: the bookkeeping ({@link StreamState}), the ring (one {@code float[]} of a window, 192 KB at
 * 3 s) and the reorder buffer (a MapState of at most {@code windowing.reorder.max-frames} frames). The ring is written
 * on every frame, which is free on the heap state backend; on RocksDB each write serializes it.
 *
 * <p>A channel has a processing-time timer only while an end-of-stream frame waits for frames it overtook. The wait
 * counts from a restore at the earliest ({@link InputClock#wallMsSince}), as the guard's does: the frames it waits for
 * may still be in the backlog.
 */
public class SessionWindower extends KeyedProcessFunction<String, DecodedFrame, WindowRequest> {
    private static final long serialVersionUID = 1L;

    private final WindowingConfig config;
    // Null when the model takes no speaker reference.
    private final SpeakerReferenceConfig speakerReference;
    // A streaming model's chunk per window (its context plus the hop), or 0 for the whole window.
    private final int chunkSamples;

    private transient SpeakerReferenceTracker referenceTracker;
    private transient InputClock clock;
    private transient ValueState<StreamState> streamState;
    private transient ValueState<float[]> ringState;
    private transient MapState<Long, BufferedFrame> reorderBuffer;

    // The ring of the key being processed, read on first use and written back once per call.
    private transient float[] ring;
    private transient boolean ringDirty;

    private transient Counter framesReordered;
    private transient Counter framesDuplicate;
    private transient Counter gapsFilled;
    private transient Counter framesMissing;
    private transient Counter gapsTruncated;
    private transient Counter framesSkippedAtStart;
    private transient Counter windowsEmitted;
    private transient Counter sessionsOpened;
    private transient Counter sessionsClosed;
    private transient Counter sessionsIdleClosed;

    public SessionWindower(WindowingConfig config) {
        this(config, null);
    }

    /**
     * @param speakerReference the speaker-reference settings when the model takes the reference inputs, else null (the
     *     windows then carry no prosody)
     */
    public SessionWindower(WindowingConfig config, SpeakerReferenceConfig speakerReference) {
        this(config, speakerReference, 0);
    }

    /**
     * @param chunkSamples for a streaming model, the samples its encoder takes per hop (context plus hop): each window
     *     then carries only its last {@code chunkSamples}; 0 = the whole window
     */
    public SessionWindower(WindowingConfig config, SpeakerReferenceConfig speakerReference, int chunkSamples) {
        this.config = Objects.requireNonNull(config, "config");
        this.speakerReference = speakerReference;
        if (chunkSamples < 0 || chunkSamples > config.windowSamples()) {
            throw new IllegalArgumentException("the model's chunk of " + chunkSamples + " samples does not fit in the"
                    + " window of " + config.windowSamples() + " (option '" + WindowingConfig.WINDOW.key() + "')");
        }
        this.chunkSamples = chunkSamples;
    }

    @Override
    public void open(OpenContext openContext) {
        StateTtlConfig ttl = StateTtlConfig.newBuilder(Duration.ofMillis(config.stateTtlMs()))
                .updateTtlOnCreateAndWrite()
                .neverReturnExpired()
                .build();
        ValueStateDescriptor<StreamState> streamDescriptor =
                new ValueStateDescriptor<>("stream", TypeInformation.of(StreamState.class));
        streamDescriptor.enableTimeToLive(ttl);
        ValueStateDescriptor<float[]> ringDescriptor =
                new ValueStateDescriptor<>("ring", PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO);
        ringDescriptor.enableTimeToLive(ttl);
        MapStateDescriptor<Long, BufferedFrame> bufferDescriptor = new MapStateDescriptor<>(
                "reorder", BasicTypeInfo.LONG_TYPE_INFO, TypeInformation.of(BufferedFrame.class));
        bufferDescriptor.enableTimeToLive(ttl);
        streamState = getRuntimeContext().getState(streamDescriptor);
        ringState = getRuntimeContext().getState(ringDescriptor);
        reorderBuffer = getRuntimeContext().getMapState(bufferDescriptor);
        referenceTracker = speakerReference == null ? null : new SpeakerReferenceTracker(speakerReference);
        clock = config.newFrameInputClock();

        MetricGroup metrics = getRuntimeContext().getMetricGroup();
        framesReordered = metrics.counter(MetricNames.FRAMES_REORDERED);
        framesDuplicate = metrics.counter(MetricNames.FRAMES_DUPLICATE);
        gapsFilled = metrics.counter(MetricNames.GAPS_FILLED);
        framesMissing = metrics.counter(MetricNames.FRAMES_MISSING);
        gapsTruncated = metrics.counter(MetricNames.GAPS_TRUNCATED);
        framesSkippedAtStart = metrics.counter(MetricNames.FRAMES_SKIPPED_AT_START);
        windowsEmitted = metrics.counter(MetricNames.WINDOWS_EMITTED);
        sessionsOpened = metrics.counter(MetricNames.SESSIONS_OPENED);
        sessionsClosed = metrics.counter(MetricNames.SESSIONS_CLOSED);
        sessionsIdleClosed = metrics.counter(MetricNames.SESSIONS_IDLE_CLOSED);
    }

    @Override
    public void processElement(DecodedFrame frame, Context ctx, Collector<WindowRequest> out) throws Exception {
        ring = null;
        ringDirty = false;
        long now = ctx.timerService().currentProcessingTime();
        clock.tick(now); // only the instance's start matters here: the windower waits on the wall clock, not on stalls
        StreamState stream = streamState.value();
        if (frame.idleEnd) {
            if (stream != null) {
                close(stream, WindowFlag.IDLE_TIMEOUT, ctx, out);
            }
            return;
        }
        if (stream == null) {
            stream = newStream(frame);
            sessionsOpened.inc();
        }
        if (frame.samples != null && frame.samples.length > 0) {
            stream.lastFrameSamples = frame.samples.length;
        }

        boolean endOfStream = accept(stream, frame, now, out);
        // Bounded reordering: past the bound, give up on the oldest missing frames.
        while (!endOfStream && stream.bufferedFrames > config.reorderMaxFrames()) {
            long oldest = oldestBufferedSeq();
            skipMissing(stream, oldest - stream.nextSeq, reorderBuffer.get(oldest), out);
            endOfStream = drainBuffer(stream, out);
        }

        if (endOfStream) {
            close(stream, WindowFlag.END_OF_STREAM, ctx, out);
        } else {
            armTimer(stream, ctx);
            save(stream);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WindowRequest> out) throws Exception {
        ring = null;
        ringDirty = false;
        long now = ctx.timerService().currentProcessingTime();
        clock.tick(now);
        StreamState stream = streamState.value();
        if (stream == null || stream.timerMs != timestamp) {
            return; // state expired by TTL, or a timer this channel no longer uses
        }
        stream.timerMs = StreamState.UNSET;
        if (clock.wallMsSince(stream.endOfStreamWaitFromMs, now) >= config.reorderEosWaitMs()) {
            close(stream, WindowFlag.END_OF_STREAM, ctx, out);
        } else {
            armTimer(stream, ctx);
            streamState.update(stream);
        }
    }

    private StreamState newStream(DecodedFrame frame) {
        StreamState stream = new StreamState();
        stream.sessionId = frame.sessionId;
        stream.channel = frame.channel;
        return stream;
    }

    /** Puts the frame into the timeline or the reorder buffer, or drops it. Returns whether end of stream was reached. */
    private boolean accept(StreamState stream, DecodedFrame frame, long now, Collector<WindowRequest> out)
            throws Exception {
        if (frame.seq < stream.nextSeq) {
            framesDuplicate.inc(); // consumed already, as audio or as gap-filling silence
            return false;
        }
        if (frame.seq > stream.nextSeq) {
            if (reorderBuffer.contains(frame.seq)) {
                framesDuplicate.inc();
                return false;
            }
            reorderBuffer.put(frame.seq, BufferedFrame.of(frame));
            stream.bufferedFrames++;
            framesReordered.inc();
            if (frame.endOfStream) {
                // Nothing follows end of stream, so the buffer bound will not be reached: wait a little for the
                // frames it overtook, then close with them filled in as silence.
                stream.endOfStreamWaitFromMs = now;
            }
            return false;
        }
        boolean endOfStream = consume(stream, BufferedFrame.of(frame), out);
        return drainBuffer(stream, out) || endOfStream;
    }

    /** Moves buffered frames that continue the timeline into it. */
    private boolean drainBuffer(StreamState stream, Collector<WindowRequest> out) throws Exception {
        boolean endOfStream = false;
        while (stream.bufferedFrames > 0) {
            BufferedFrame next = reorderBuffer.get(stream.nextSeq);
            if (next == null) {
                break;
            }
            reorderBuffer.remove(stream.nextSeq);
            stream.bufferedFrames--;
            endOfStream |= consume(stream, next, out);
        }
        return endOfStream;
    }

    private long oldestBufferedSeq() throws Exception {
        long oldest = Long.MAX_VALUE;
        for (Long seq : reorderBuffer.keys()) {
            oldest = Math.min(oldest, seq);
        }
        return oldest;
    }

    /** Appends the frame with seq {@code nextSeq} to the timeline. Returns whether it ends the stream. */
    private boolean consume(StreamState stream, BufferedFrame frame, Collector<WindowRequest> out) {
        noteTiming(stream, frame, stream.samplesConsumed);
        append(stream, frame.samples, frame.samples.length, out);
        stream.nextSeq++;
        return frame.endOfStream;
    }

    /** Records the arrival of a frame that starts at timeline position {@code position}. */
    private static void noteTiming(StreamState stream, BufferedFrame frame, long position) {
        if (stream.streamStartMs == StreamState.UNSET) {
            stream.streamStartMs = frame.timestampMs - position * 1000 / DecodedFrame.SAMPLE_RATE;
        }
        stream.lastArrivalMs = Math.max(stream.lastArrivalMs, frame.arrivalMs);
    }

    /**
     * Gives up on {@code missingFrames} frames from {@code nextSeq} on. Before the first frame of the timeline they are
     * skipped: the job started reading mid-call, or they are stragglers of a channel that was closed already, and
     * silence nobody spoke would only delay the real audio (or make up a call from a duplicate). Later they become
     * silence.
     */
    private void skipMissing(StreamState stream, long missingFrames, BufferedFrame next, Collector<WindowRequest> out) {
        if (stream.nextSeq == 0) {
            framesSkippedAtStart.inc(missingFrames);
            stream.nextSeq = missingFrames;
        } else {
            fillGap(stream, missingFrames, next, out);
        }
    }

    /**
     * Replaces {@code missingFrames} frames from {@code nextSeq} on by silence of the latest frame's length, up to
     * {@code next}, the frame after the gap. Windows completed by the silence were released by {@code next}, so they
     * carry its arrival time.
     *
     * <p>One gap gets at most {@code windowing.max-gap-fill} of silence, and a channel's silence in all stays within its
     * audio plus that much: a producer that jumps its seq every few frames would otherwise make the model analyse ten
     * times the audio it sent. Real packet loss is far within both bounds.
     */
    private void fillGap(StreamState stream, long missingFrames, BufferedFrame next, Collector<WindowRequest> out) {
        long cap = config.maxGapFillSamples();
        long audio = stream.samplesConsumed - stream.silenceSamples;
        long budget = Math.max(0, Math.min(cap, audio + cap - stream.silenceSamples));
        long frameSamples = stream.lastFrameSamples;
        // Compared by division: a seq jump of billions must not overflow into a negative length.
        boolean truncated = frameSamples > 0 && missingFrames > budget / frameSamples;
        long silence = truncated ? budget : missingFrames * frameSamples;
        noteTiming(stream, next, stream.samplesConsumed + silence);
        gapsFilled.inc();
        framesMissing.inc(missingFrames);
        if (truncated) {
            gapsTruncated.inc();
        }
        // Set before appending so that windows completed by the silence itself carry the flag.
        stream.gapEndSample = stream.samplesConsumed + silence;
        stream.silenceSamples += silence;
        while (silence > 0) {
            int chunk = (int) Math.min(silence, Integer.MAX_VALUE);
            append(stream, null, chunk, out);
            silence -= chunk;
        }
        stream.nextSeq += missingFrames;
    }

    /** Writes samples (zeros when {@code source} is null) into the ring, emitting each window as it completes. */
    private void append(StreamState stream, float[] source, int length, Collector<WindowRequest> out) {
        float[] ring = ring();
        int capacity = ring.length;
        int done = 0;
        while (done < length) {
            long windowEnd = config.windowStart(stream.nextWindowIndex) + config.windowSamples();
            int chunk = (int) Math.min(length - done, windowEnd - stream.samplesConsumed);
            int at = (int) Math.floorMod(stream.samplesConsumed, (long) capacity);
            int first = Math.min(chunk, capacity - at);
            copyIntoRing(source, done, ring, at, first);
            copyIntoRing(source, done + first, ring, 0, chunk - first);
            stream.samplesConsumed += chunk;
            done += chunk;
            if (stream.samplesConsumed == windowEnd) {
                emit(stream, config.windowSamples(), null, out);
            }
        }
        ringDirty |= length > 0;
    }

    private static void copyIntoRing(float[] source, int from, float[] ring, int at, int length) {
        if (source == null) {
            Arrays.fill(ring, at, at + length, 0f);
        } else {
            System.arraycopy(source, from, ring, at, length);
        }
    }

    /**
     * Emits window {@code nextWindowIndex}, whose first {@code validSamples} samples are in the ring (or, before the
     * timeline's origin, still zero there); the rest is zero padding.
     */
    private void emit(StreamState stream, int validSamples, WindowFlag closeFlag, Collector<WindowRequest> out) {
        float[] ring = ring();
        int capacity = ring.length;
        long start = config.windowStart(stream.nextWindowIndex);
        float[] samples = new float[config.windowSamples()];
        int from = (int) Math.floorMod(start, (long) capacity);
        int first = Math.min(validSamples, capacity - from);
        System.arraycopy(ring, from, samples, 0, first);
        System.arraycopy(ring, 0, samples, first, validSamples - first);

        EnumSet<WindowFlag> flags = EnumSet.noneOf(WindowFlag.class);
        if (start < 0) {
            flags.add(WindowFlag.PADDED_START);
        }
        if (start < stream.gapEndSample) {
            flags.add(WindowFlag.GAP_FILLED);
        }
        if (closeFlag != null) {
            flags.add(closeFlag);
        }

        WindowRequest request = new WindowRequest();
        request.sessionId = stream.sessionId;
        request.channel = stream.channel;
        request.windowIndex = stream.nextWindowIndex;
        request.startSample = start;
        request.hopSamples = config.hopSamples();
        request.samples = samples;
        request.validSamples = validSamples;
        request.finalWindow = closeFlag != null;
        request.flags = flags.toArray(new WindowFlag[0]);
        request.lastArrivalMs = stream.lastArrivalMs;
        request.streamStartMs = stream.streamStartMs;
        if (referenceTracker != null) {
            if (stream.speakerReference == null) {
                stream.speakerReference = new ChannelReference();
            }
            referenceTracker.attach(stream.speakerReference, request);
        }
        if (chunkSamples > 0 && chunkSamples < samples.length) {
            // After the reference, which analyses the whole window: the model itself needs only the chunk.
            request.chunkOffset = samples.length - chunkSamples;
            request.samples = Arrays.copyOfRange(samples, request.chunkOffset, samples.length);
        }
        out.collect(request);
        windowsEmitted.inc();
        stream.nextWindowIndex++;
    }

    /**
     * Ends the channel: buffered frames go into the timeline (missing ones as silence), the partial last window is
     * emitted as the final one, and all state and the timer are removed.
     */
    private void close(StreamState stream, WindowFlag reason, Context ctx, Collector<WindowRequest> out)
            throws Exception {
        List<Long> buffered = new ArrayList<>();
        for (Long seq : reorderBuffer.keys()) {
            buffered.add(seq);
        }
        buffered.sort(null);
        for (long seq : buffered) {
            BufferedFrame frame = reorderBuffer.get(seq);
            if (seq > stream.nextSeq) {
                skipMissing(stream, seq - stream.nextSeq, frame, out);
            }
            consume(stream, frame, out);
        }
        // A channel that never carried audio has nothing to analyse; every other one ends with exactly one final
        // window.
        if (stream.samplesConsumed > 0) {
            emit(stream, (int) (stream.samplesConsumed - config.windowStart(stream.nextWindowIndex)), reason, out);
        }

        if (stream.timerMs != StreamState.UNSET) {
            ctx.timerService().deleteProcessingTimeTimer(stream.timerMs);
        }
        streamState.clear();
        ringState.clear();
        reorderBuffer.clear();
        sessionsClosed.inc();
        if (reason == WindowFlag.IDLE_TIMEOUT) {
            sessionsIdleClosed.inc();
        }
    }

    /** Sets the timer for a waiting end-of-stream frame; a timer that fires early is re-armed. */
    private void armTimer(StreamState stream, Context ctx) {
        if (stream.endOfStreamWaitFromMs == StreamState.UNSET || stream.timerMs != StreamState.UNSET) {
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        stream.timerMs =
                now + Math.max(1, config.reorderEosWaitMs() - clock.wallMsSince(stream.endOfStreamWaitFromMs, now));
        ctx.timerService().registerProcessingTimeTimer(stream.timerMs);
    }

    private float[] ring() {
        if (ring == null) {
            try {
                ring = ringState.value();
            } catch (Exception e) {
                throw new IllegalStateException("cannot read the window ring buffer", e);
            }
            if (ring == null) {
                ring = new float[config.windowSamples()];
            }
        }
        return ring;
    }

    private void save(StreamState stream) throws Exception {
        streamState.update(stream);
        if (ringDirty) {
            ringState.update(ring);
        }
    }
}
