package io.meritstream.session;

/**
 * Idleness measured from what this operator instance has seen. Processing-time timers of restored state fire as soon
 * as the job is back, before the backlog that the outage left in Kafka is read: measured on the local cluster, a 40 s
 * outage (more than the idle timeout) closed every live call and split it in two. So a channel's activity counts from
 * no earlier than the moment this instance first ran; its frames in the backlog then arrive before the deadline, and a
 * channel that really ended during the outage closes one timeout after the restore. On a fresh start no channel has
 * older activity, so nothing changes there. The start is the first frame or timer the instance handles (a keyed
 * function's {@code open} has no timer service to read the time from): after a restart in which no timer was overdue,
 * a channel that ended just before it may close up to one timeout late, once. Transient, one per operator instance.
 */
public final class RestoreGrace {
    private static final long UNSET = Long.MIN_VALUE;

    private long startedMs = UNSET;

    /** Notes the current processing time; the first call after (re)start fixes the instance's start. */
    public void observe(long nowMs) {
        if (startedMs == UNSET) {
            startedMs = nowMs;
        }
    }

    /** When idleness of a channel last active at {@code lastActivityMs} starts to count. */
    public long activitySince(long lastActivityMs) {
        return startedMs == UNSET ? lastActivityMs : Math.max(lastActivityMs, startedMs);
    }
}
