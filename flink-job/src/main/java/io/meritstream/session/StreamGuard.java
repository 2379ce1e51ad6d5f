package io.meritstream.session;

import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.ingest.FrameDecoder;
import io.meritstream.ingest.NativeFrame;
import io.meritstream.metrics.MetricNames;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Keeps frames that no timeline of their stream can take away from the windower, as dead letters with a reason, and
 * closes streams that went idle:
 *
 * <ul>
 *   <li>Idle close: a stream without a frame for {@code windowing.idle-timeout} (counted on the input's progress, see
 *       {@link InputClock}) is ended here with a made-up end-of-stream frame ({@link
 *       io.meritstream.ingest.ChannelFrame#idleEnd}) that the resampler and windower follow. The decision is made in
 *       this one place, so that the stages after it end the stream at the same frame and a later frame can be refused.
 *   <li>{@code AFTER_END_OF_STREAM}: a frame numbered after the stream's end-of-stream frame, any frame once the
 *       windower has had {@code windowing.reorder.eos-wait} to close the stream, or any frame after an idle close.
 *       Before, such a frame opened a second timeline: window 0 and chunk seq 0 again, a second summary, and outputs
 *       whose record ids repeat the first timeline's.
 *   <li>{@code SEQ_RESET}: a frame more than {@code windowing.reorder.max-frames} behind the newest of its stream. The
 *       windower has given up on such a frame already; it is a producer that restarted its numbering or replayed the
 *       call. Before, the rest of such a call was dropped as duplicates without a trace.
 *   <li>{@code STREAM_LIMIT}: the first frame of a new stream when {@code windowing.max-live-streams} streams of this
 *       subtask are live (neither ended nor closed idle). A rejected stream gets no state here or downstream, so a flood
 *       of new ids costs a dead letter each and nothing more.
 * </ul>
 *
 * <p>The live streams are counted in memory. The count is not checkpointed: after a restore it starts empty and fills
 * with the streams as their frames come (every live channel sends one every 20 ms), and a stream the guard has state
 * for is never refused.
 *
 * <p>Keyed by stream, before the resampler. Its state per stream is a {@link Seen}, written with every frame, and one
 * processing-time timer for the idle close, set at the earliest deadline and re-armed when it fires early. The state is
 * not cleared at the end (it is what recognises frames after it) but expires {@code windowing.state-ttl} after the
 * stream's last frame.
 */
public class StreamGuard extends KeyedProcessFunction<String, NativeFrame, NativeFrame> {
    private static final long serialVersionUID = 1L;

    /** The guard's dead letters. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("stream-guard-dead-letters", TypeInformation.of(DeadLetter.class));

    /** The guard's state of one stream (a Flink POJO). */
    public static class Seen {
        public String sessionId;
        public String channel;
        /** Sample rate of the latest frame: the idle end must not look like a rate change to the resampler. */
        public int sampleRate;
        /** Newest seq of the stream, -1 before its first frame. */
        public long newestSeq = -1;
        /** Seq of its end-of-stream frame (sent, or made up at the idle close), -1 while it has none. */
        public long endSeq = -1;
        /** Processing time the end-of-stream frame arrived or was made up. */
        public long endArrivalMs;
        /** Whether the end was the idle close, after which no frame is taken. */
        public boolean closedIdle;
        /** Processing time of the latest frame. */
        public long lastActivityMs;
        /** The registered idle timer, 0 for none. */
        public long timerMs;

        public Seen() {}
    }

    private final long maxFramesBehind;
    private final int maxLiveStreams;
    private final long idleTimeoutMs;
    private final long endWaitMs;
    private final long retentionMs;
    private final int maxOriginalBytes;
    private final WindowingConfig config;

    private transient InputClock clock;
    private transient ValueState<Seen> seen;
    private transient Map<DeadLetterReason, Counter> deadLetters;
    // Keys of the streams that are neither ended nor closed idle.
    private transient Set<String> live;

    /** @param maxOriginalBytes how much of a rejected record's value its dead letter keeps (dlq.max-original-bytes) */
    public StreamGuard(WindowingConfig config, int maxOriginalBytes) {
        Objects.requireNonNull(config, "config");
        this.maxOriginalBytes = maxOriginalBytes;
        this.maxFramesBehind = config.reorderMaxFrames();
        this.endWaitMs = config.reorderEosWaitMs();
        this.retentionMs = config.stateTtlMs();
        this.maxLiveStreams = config.maxLiveStreams();
        this.idleTimeoutMs = config.idleTimeoutMs();
        this.config = config;
    }

    @Override
    public void open(OpenContext openContext) {
        ValueStateDescriptor<Seen> descriptor = new ValueStateDescriptor<>("seen", TypeInformation.of(Seen.class));
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(retentionMs))
                .updateTtlOnCreateAndWrite()
                .neverReturnExpired()
                .build());
        seen = getRuntimeContext().getState(descriptor);
        clock = config.newFrameInputClock();
        live = new HashSet<>();
        deadLetters = new EnumMap<>(DeadLetterReason.class);
        for (DeadLetterReason reason : new DeadLetterReason[] {
            DeadLetterReason.AFTER_END_OF_STREAM, DeadLetterReason.SEQ_RESET, DeadLetterReason.STREAM_LIMIT
        }) {
            deadLetters.put(
                    reason,
                    getRuntimeContext()
                            .getMetricGroup()
                            .addGroup(MetricNames.DEAD_LETTER_REASON_GROUP, reason.name())
                            .counter(MetricNames.DEAD_LETTERS));
        }
    }

    @Override
    public void processElement(NativeFrame frame, Context ctx, Collector<NativeFrame> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        clock.input(now);
        Seen s = seen.value();
        String key = ctx.getCurrentKey();
        if (s == null) {
            if (live.size() >= maxLiveStreams && !live.contains(key)) {
                reject(
                        frame,
                        DeadLetterReason.STREAM_LIMIT,
                        String.format(
                                "%s/%s would be stream %d of this subtask, above windowing.max-live-streams (%d);"
                                        + " its frames are refused until a live stream ends or idles out",
                                frame.sessionId, frame.channel, live.size() + 1, maxLiveStreams),
                        now,
                        ctx);
                return;
            }
            s = new Seen();
            s.sessionId = frame.sessionId;
            s.channel = frame.channel;
        }
        if (s.closedIdle) {
            reject(
                    frame,
                    DeadLetterReason.AFTER_END_OF_STREAM,
                    String.format(
                            "frame seq %d of %s/%s came after the stream was closed for having no frame for"
                                    + " windowing.idle-timeout (%d ms), %d ms earlier; a stream ends once: send the"
                                    + " rest under a new sessionId, or raise windowing.idle-timeout",
                            frame.seq, frame.sessionId, frame.channel, idleTimeoutMs, now - s.endArrivalMs),
                    now,
                    ctx);
            return;
        }
        // The windower waits eos-wait for frames the end overtook (on the same kind of clock as here).
        if (s.endSeq >= 0 && (frame.seq > s.endSeq || clock.wallMsSince(s.endArrivalMs, now) > endWaitMs)) {
            reject(
                    frame,
                    DeadLetterReason.AFTER_END_OF_STREAM,
                    String.format(
                            "frame seq %d of %s/%s came after its end-of-stream frame (seq %d, %d ms earlier); a"
                                    + " stream ends once: send a new call under a new sessionId",
                            frame.seq, frame.sessionId, frame.channel, s.endSeq, now - s.endArrivalMs),
                    now,
                    ctx);
            return;
        }
        if (s.newestSeq >= 0 && frame.seq < s.newestSeq - maxFramesBehind) {
            reject(
                    frame,
                    DeadLetterReason.SEQ_RESET,
                    String.format(
                            "frame seq %d of %s/%s is %d frames behind the newest (seq %d), more than the %d a late"
                                    + " frame may be (windowing.reorder.max-frames): its producer restarted the"
                                    + " numbering or replayed the call",
                            frame.seq,
                            frame.sessionId,
                            frame.channel,
                            s.newestSeq - frame.seq,
                            s.newestSeq,
                            maxFramesBehind),
                    now,
                    ctx);
            return;
        }
        s.newestSeq = Math.max(s.newestSeq, frame.seq);
        s.sampleRate = frame.sampleRate;
        s.lastActivityMs = now;
        if (frame.endOfStream && s.endSeq < 0) {
            s.endSeq = frame.seq;
            s.endArrivalMs = now;
        }
        if (s.endSeq < 0) {
            live.add(key);
            if (s.timerMs == 0) {
                armTimer(s, now, ctx);
            }
        } else {
            live.remove(key);
            deleteTimer(s, ctx);
        }
        seen.update(s);
        frame.source = null; // no later stage rejects a frame: the copy to the resampler need not carry the record
        out.collect(frame);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<NativeFrame> out) throws Exception {
        // An overdue timer of restored state fires at once: the time is now, not the timer's.
        long now = ctx.timerService().currentProcessingTime();
        clock.tick(now);
        Seen s = seen.value();
        if (s == null || s.timerMs != timestamp || s.endSeq >= 0) {
            return; // state expired by TTL, or a timer the stream no longer uses
        }
        s.timerMs = 0;
        if (clock.idleMs(s.lastActivityMs, now) < idleTimeoutMs) {
            armTimer(s, now, ctx);
            seen.update(s);
            return;
        }
        s.endSeq = s.newestSeq + 1;
        s.endArrivalMs = now;
        s.closedIdle = true;
        seen.update(s);
        live.remove(ctx.getCurrentKey());
        // Counted where the stream ends (the windower's sessions_idle_closed), not twice.
        NativeFrame end = new NativeFrame(s.sessionId, s.channel, s.endSeq, 0L, s.sampleRate, new float[0], true, now);
        end.idleEnd = true;
        out.collect(end);
    }

    private void armTimer(Seen s, long now, Context ctx) {
        s.timerMs = clock.earliestDeadline(s.lastActivityMs, idleTimeoutMs, now);
        ctx.timerService().registerProcessingTimeTimer(s.timerMs);
    }

    private static void deleteTimer(Seen s, Context ctx) {
        if (s.timerMs != 0) {
            ctx.timerService().deleteProcessingTimeTimer(s.timerMs);
            s.timerMs = 0;
        }
    }

    /** The live streams counted now; for tests. */
    int liveStreams() {
        return live.size();
    }

    /** The counter of dead letters for {@code reason}; for tests. */
    Counter deadLetterCounter(DeadLetterReason reason) {
        return deadLetters.get(reason);
    }

    private void reject(NativeFrame frame, DeadLetterReason reason, String message, long now, Context ctx) {
        deadLetters.get(reason).inc();
        ctx.output(DEAD_LETTERS, FrameDecoder.deadLetter(frame.source, reason, message, maxOriginalBytes, now));
    }
}
