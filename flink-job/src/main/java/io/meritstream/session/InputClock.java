package io.meritstream.session;

import java.util.ArrayDeque;

/**
 * Idleness measured on this operator instance's input progress rather than on the wall clock alone.
 *
 * <p>Two things stop a subtask's whole input while its calls go on: a restore (processing-time timers of restored
 * state fire before the backlog the outage left in Kafka is read; on the local cluster a 40 s outage closed every live
 * call and split it in two) and a stall while the calls keep talking (inference saturated and back-pressuring, a Kafka
 * outage, a long checkpoint alignment). Neither says anything about whether one channel has ended. So idleness counts:
 *
 * <ul>
 *   <li>from no earlier than the moment this instance first ran (the first frame or timer it handles: a keyed
 *       function's {@code open} has no timer service to read the time from);
 *   <li>without the time in which no input at all reached the instance for longer than {@code stallAfterMs}, except
 *       that at most {@code maxStallMs} of such time is left out for one channel.
 * </ul>
 *
 * <p>The cap is needed because a stalled input and the end of every call look alike from here: the last call of a
 * quiet subtask that ends without its end-of-stream frame closes {@code maxStallMs} late. A channel among live ones is
 * unaffected: the others' frames keep the input going. Transient, one per operator instance; the stalls are kept only
 * as long as they can matter.
 */
public final class InputClock {
    private static final long UNSET = Long.MIN_VALUE;

    private final long stallAfterMs;
    private final long maxStallMs;
    private final long horizonMs;
    // Closed stalls as {from, to}, oldest first; each is the part of an input gap beyond stallAfterMs.
    private final ArrayDeque<long[]> stalls = new ArrayDeque<>();

    private long startedMs = UNSET;
    private long lastInputMs = UNSET;

    /**
     * @param stallAfterMs a gap in the input longer than this is a stall (from this far into the gap on)
     * @param maxStallMs most stalled time left out of one channel's idleness; 0 measures idleness on the wall clock
     * @param idleTimeoutMs the longest idleness anyone asks about, so that older stalls can be dropped
     */
    public InputClock(long stallAfterMs, long maxStallMs, long idleTimeoutMs) {
        if (stallAfterMs <= 0 || maxStallMs < 0 || idleTimeoutMs <= 0) {
            throw new IllegalArgumentException("stallAfterMs " + stallAfterMs + " and idleTimeoutMs " + idleTimeoutMs
                    + " must be positive, maxStallMs " + maxStallMs + " 0 or more");
        }
        this.stallAfterMs = stallAfterMs;
        this.maxStallMs = maxStallMs;
        this.horizonMs = idleTimeoutMs + maxStallMs + stallAfterMs;
    }

    /** Notes an input element at processing time {@code nowMs}. */
    public void input(long nowMs) {
        tick(nowMs);
        if (lastInputMs != UNSET && nowMs - lastInputMs > stallAfterMs) {
            stalls.addLast(new long[] {lastInputMs + stallAfterMs, nowMs});
        }
        lastInputMs = Math.max(lastInputMs, nowMs);
        while (!stalls.isEmpty() && stalls.peekFirst()[1] < nowMs - horizonMs) {
            stalls.removeFirst();
        }
    }

    /** Notes the processing time of a timer; the first call after (re)start fixes the instance's start. */
    public void tick(long nowMs) {
        if (startedMs == UNSET) {
            startedMs = nowMs;
            lastInputMs = nowMs;
        }
    }

    /** How long a channel whose last activity was at {@code lastActivityMs} has been idle at {@code nowMs}. */
    public long idleMs(long lastActivityMs, long nowMs) {
        long from = countFrom(lastActivityMs);
        if (nowMs <= from) {
            return 0;
        }
        long stalled = 0;
        for (long[] stall : stalls) {
            stalled += overlap(stall[0], stall[1], from, nowMs);
        }
        if (lastInputMs != UNSET) {
            stalled += overlap(lastInputMs + stallAfterMs, nowMs, from, nowMs);
        }
        return nowMs - from - Math.min(stalled, maxStallMs);
    }

    /**
     * The earliest processing time at which a channel last active at {@code lastActivityMs} can have been idle for
     * {@code timeoutMs}, as seen at {@code nowMs}: a timer set then re-checks with {@link #idleMs}.
     */
    public long earliestDeadline(long lastActivityMs, long timeoutMs, long nowMs) {
        return nowMs + Math.max(1, timeoutMs - idleMs(lastActivityMs, nowMs));
    }

    /**
     * Wall time since {@code sinceMs}, counted from the instance's start at the earliest but with stalls included: for
     * short waits (an end-of-stream frame waiting for frames it overtook), where a quiet subtask must not wait {@code
     * maxStallMs} for a frame that was lost.
     */
    public long wallMsSince(long sinceMs, long nowMs) {
        return Math.max(0, nowMs - countFrom(sinceMs));
    }

    private long countFrom(long sinceMs) {
        return startedMs == UNSET ? sinceMs : Math.max(sinceMs, startedMs);
    }

    private static long overlap(long from, long to, long windowFrom, long windowTo) {
        return Math.max(0, Math.min(to, windowTo) - Math.max(from, windowFrom));
    }
}
