package io.meritstream.session;

import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.ingest.FrameDecoder;
import io.meritstream.ingest.NativeFrame;
import io.meritstream.metrics.MetricNames;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
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
 * Keeps frames that no timeline of their stream can take away from the windower, as dead letters with a reason:
 *
 * <ul>
 *   <li>{@code AFTER_END_OF_STREAM}: a frame numbered after the stream's end-of-stream frame, or any frame once the
 *       windower has had {@code windowing.reorder.eos-wait} to close the stream. Before, such a frame opened a second
 *       timeline: window 0 and chunk seq 0 again, a second summary, and outputs whose record ids repeat the first
 *       timeline's. (A stream the windower closed after its idle timeout has no end-of-stream frame: a frame after
 *       that still opens a new timeline.)
 *   <li>{@code SEQ_RESET}: a frame more than {@code windowing.reorder.max-frames} behind the newest of its stream. The
 *       windower has given up on such a frame already; it is a producer that restarted its numbering or replayed the
 *       call. Before, the rest of such a call was dropped as duplicates without a trace.
 *   <li>{@code STREAM_LIMIT}: the first frame of a new stream when {@code windowing.max-live-streams} streams of this
 *       subtask are live (not ended, a frame within {@code windowing.idle-timeout}). A rejected stream gets no state
 *       here or downstream, so a flood of new ids costs a dead letter each and nothing more.
 * </ul>
 *
 * <p>The live streams are counted in memory, in the order of their latest frame, so that the idle ones drop out from
 * the front. The count is not checkpointed: after a restore it starts empty and fills with the streams as their
 * frames come (every live channel sends one every 20 ms), and a stream the guard has state for is never refused.
 *
 * <p>Keyed by stream, before the resampler. Its state per stream is the newest seq and the end-of-stream frame's seq and
 * arrival; it is not cleared at the end (it is what recognises frames after it) but expires {@code windowing.state-ttl}
 * after the stream's last frame.
 */
public class StreamGuard extends KeyedProcessFunction<String, NativeFrame, NativeFrame> {
    private static final long serialVersionUID = 1L;

    /** The guard's dead letters. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("stream-guard-dead-letters", TypeInformation.of(DeadLetter.class));

    /** The guard's state of one stream (a Flink POJO). */
    public static class Seen {
        /** Newest seq of the stream, -1 before its first frame. */
        public long newestSeq = -1;
        /** Seq of its end-of-stream frame, -1 while it has none. */
        public long endSeq = -1;
        /** Processing time the end-of-stream frame arrived. */
        public long endArrivalMs;

        public Seen() {}
    }

    private final long maxFramesBehind;
    private final int maxLiveStreams;
    private final long idleTimeoutMs;
    private final long endWaitMs;
    private final long retentionMs;
    private final int maxOriginalBytes;

    private transient RestoreGrace restoreGrace;
    private transient ValueState<Seen> seen;
    private transient Map<DeadLetterReason, Counter> deadLetters;
    // Stream key -> processing time of its latest frame, least recent first (access order).
    private transient LinkedHashMap<String, Long> live;

    /** @param maxOriginalBytes how much of a rejected record's value its dead letter keeps (dlq.max-original-bytes) */
    public StreamGuard(WindowingConfig config, int maxOriginalBytes) {
        Objects.requireNonNull(config, "config");
        this.maxOriginalBytes = maxOriginalBytes;
        this.maxFramesBehind = config.reorderMaxFrames();
        this.endWaitMs = config.reorderEosWaitMs();
        this.retentionMs = config.stateTtlMs();
        this.maxLiveStreams = config.maxLiveStreams();
        this.idleTimeoutMs = config.idleTimeoutMs();
    }

    @Override
    public void open(OpenContext openContext) {
        ValueStateDescriptor<Seen> descriptor = new ValueStateDescriptor<>("seen", TypeInformation.of(Seen.class));
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(retentionMs))
                .updateTtlOnCreateAndWrite()
                .neverReturnExpired()
                .build());
        seen = getRuntimeContext().getState(descriptor);
        restoreGrace = new RestoreGrace();
        live = new LinkedHashMap<>(16, 0.75f, true);
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
        restoreGrace.observe(now);
        Seen s = seen.value();
        String key = ctx.getCurrentKey();
        if (s == null) {
            forgetIdle(now);
            if (live.size() >= maxLiveStreams && !live.containsKey(key)) {
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
        }
        // The windower waits eos-wait for frames the end overtook (counted from a restart at the earliest, as there).
        if (s.endSeq >= 0 && (frame.seq > s.endSeq || now > restoreGrace.activitySince(s.endArrivalMs) + endWaitMs)) {
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
        boolean changed = false;
        if (frame.seq > s.newestSeq) {
            s.newestSeq = frame.seq;
            changed = true;
        }
        if (frame.endOfStream && s.endSeq < 0) {
            s.endSeq = frame.seq;
            s.endArrivalMs = now;
            changed = true;
        }
        if (s.endSeq < 0) {
            live.put(key, now);
        } else {
            live.remove(key);
        }
        if (changed) {
            seen.update(s);
        }
        frame.source = null; // no later stage rejects a frame: the copy to the resampler need not carry the record
        out.collect(frame);
    }

    /** Drops the streams without a frame for the idle timeout (counted from a restart at the earliest). */
    private void forgetIdle(long now) {
        Iterator<Map.Entry<String, Long>> oldestFirst = live.entrySet().iterator();
        while (oldestFirst.hasNext()) {
            if (now - restoreGrace.activitySince(oldestFirst.next().getValue()) < idleTimeoutMs) {
                return;
            }
            oldestFirst.remove();
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
