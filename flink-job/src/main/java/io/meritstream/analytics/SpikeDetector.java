package io.meritstream.analytics;

import io.meritstream.avro.AlertKind;

/**
 * Hysteresis over the smoothed negativity of one channel.
 *
 * <ul>
 *   <li>A spike starts (NEGATIVE_SPIKE_START) on the K-th speech hop of a run with negativity strictly above the
 *       enter threshold, unless less than the cooldown has passed since the previous spike ended; then it starts on
 *       the first speech hop after the cooldown at which the run still holds. A run is broken by more than G speech
 *       hops in a row at or below the enter threshold ({@code analytics.alert.max-gap-hops}); G = 0, the default,
 *       means K hops in a row. A gap lets one dip of the score (a calmer phrase inside an angry stretch) delay the
 *       alert by one hop instead of restarting the count.
 *   <li>A spike ends (NEGATIVE_SPIKE_END) on the first speech hop with negativity strictly below the exit threshold.
 *       Between the thresholds nothing changes, which is what keeps a score hovering at one threshold from flapping.
 *   <li>Non-speech (and failed) hops are transparent: they neither count towards K nor break a run, since silence
 *       between a customer's sentences says nothing about their mood.
 *   <li>When the channel ends inside a spike, {@link #closeAtEnd} ends it, so every start has an end.
 * </ul>
 *
 * <p>Time is the channel's audio timeline (window ends, ms), not the wall clock, so a replay alerts the same way.
 * Public fields are the state.
 */
public class SpikeDetector {
    public boolean inSpike;
    /** Speech hops above the enter threshold in the current run. */
    public int aboveHops;
    /** Speech hops at or below the enter threshold in a row since the run's last hop above it. */
    public int gapHops;
    /** Time of the first hop of the current run. */
    public long runStartMs;
    /** Highest negativity since the run started. */
    public float peakScore;
    /** End time of the last spike, or {@link Long#MIN_VALUE} when none ended yet. */
    public long lastEndMs = Long.MIN_VALUE;
    /** Number of spikes started. */
    public int alertCount;

    public SpikeDetector() {}

    /** What a hop decided: the alert kind to emit, or null, and the hops the condition held. */
    public record Decision(AlertKind kind, int consecutiveHops) {}

    /** Evaluates one hop; returns null when no alert fires. */
    public Decision onHop(boolean speech, float negativity, long timeMs, AnalyticsConfig config) {
        if (!speech) {
            return null;
        }
        if (inSpike) {
            peakScore = Math.max(peakScore, negativity);
            if (negativity < config.exitThreshold) {
                inSpike = false;
                aboveHops = 0;
                gapHops = 0;
                lastEndMs = timeMs;
                return new Decision(AlertKind.NEGATIVE_SPIKE_END, 1);
            }
            return null;
        }
        if (!(negativity > config.enterThreshold)) {
            if (aboveHops > 0 && ++gapHops > config.maxGapHops) {
                aboveHops = 0;
            }
            return null;
        }
        gapHops = 0;
        if (aboveHops == 0) {
            runStartMs = timeMs;
            peakScore = negativity;
        }
        aboveHops++;
        peakScore = Math.max(peakScore, negativity);
        boolean cooledDown = lastEndMs == Long.MIN_VALUE || timeMs - lastEndMs >= config.cooldownMs;
        if (aboveHops >= config.consecutiveHops && cooledDown) {
            inSpike = true;
            alertCount++;
            return new Decision(AlertKind.NEGATIVE_SPIKE_START, aboveHops);
        }
        return null;
    }

    /** Ends an open spike when the channel ends (consecutiveHops 0: the exit condition never held); else null. */
    public Decision closeAtEnd(long timeMs) {
        if (!inSpike) {
            return null;
        }
        inSpike = false;
        aboveHops = 0;
        gapHops = 0;
        lastEndMs = timeMs;
        return new Decision(AlertKind.NEGATIVE_SPIKE_END, 0);
    }
}
