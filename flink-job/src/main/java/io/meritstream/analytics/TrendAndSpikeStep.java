package io.meritstream.analytics;

import io.meritstream.avro.EmotionEvent;

/**
 * One hop of a channel's emotion analytics: the {@link TrendTracker} folds the window in, then the {@link SpikeDetector}
 * judges the new smoothed negativity. {@link ChannelAnalytics} runs it for every window result; {@code merit
 * tune-alerts} replays collected emotion events through it under other settings, so both decide alerts with one rule.
 */
public final class TrendAndSpikeStep {
    private TrendAndSpikeStep() {}

    /**
     * What the hop produced.
     *
     * @param slope negativity change per second over the hop
     * @param negativity smoothed negativity after the hop
     * @param decision the alert to emit, or null
     */
    public record Outcome(float slope, float negativity, SpikeDetector.Decision decision) {}

    /** See {@link TrendTracker#update} for the arguments. */
    public static Outcome apply(
            TrendTracker trend,
            SpikeDetector spikes,
            float[] probabilities,
            boolean speech,
            long ownedSamples,
            double hopSeconds,
            long timeMs,
            AnalyticsConfig config) {
        float slope = trend.update(probabilities, speech, ownedSamples, hopSeconds, timeMs, config);
        float negativity = config.negativity(trend.smoothed);
        return new Outcome(slope, negativity, spikes.onHop(speech, negativity, timeMs, config));
    }

    /**
     * The hop of an emotion event the job emitted, replayed: its probabilities, speech decision and window end. A
     * failed window has no event; it was a non-speech hop, which changes nothing, so skipping it is the same.
     */
    public static Outcome replay(
            TrendTracker trend,
            SpikeDetector spikes,
            EmotionEvent event,
            long ownedSamples,
            double hopSeconds,
            AnalyticsConfig config) {
        return apply(
                trend,
                spikes,
                Emotions.values(event.getProbabilities()),
                event.getSpeech(),
                ownedSamples,
                hopSeconds,
                event.getWindowEndMs(),
                config);
    }
}
