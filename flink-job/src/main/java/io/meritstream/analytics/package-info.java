/**
 * Keyed analytics after inference: one {@link io.meritstream.analytics.ChannelAnalytics} per channel (session +
 * channel) turns the window results of the model into the four output topics.
 *
 * <h2>Wiring</h2>
 *
 * <pre>{@code
 * AnalyticsConfig config = AnalyticsConfig.fromConfiguration(jobConfiguration); // fails fast on bad options
 * AnalyticsStage.Outputs out = AnalyticsStage.apply(windowResults, config);
 * out.emotionEvents()  -> emotion-events   (EmotionEvent, main output)
 * out.enhancedAudio()  -> enhanced-audio   (EnhancedAudioChunk, side output ChannelAnalytics.ENHANCED_AUDIO)
 * out.emotionTrends()  -> emotion-trends   (EmotionTrend UPDATE / SESSION_SUMMARY, ChannelAnalytics.EMOTION_TRENDS)
 * out.emotionAlerts()  -> emotion-alerts   (EmotionAlert, ChannelAnalytics.EMOTION_ALERTS)
 * out.channelActivity() -> the conversation stage (ChannelActivity, ChannelAnalytics.CHANNEL_ACTIVITY), then
 *                          call-summaries
 * }</pre>
 *
 * The options are {@link io.meritstream.analytics.AnalyticsOptions}. Every record is keyed by sessionId on Kafka; its channel
 * field tells a customer's and an agent's records apart.
 *
 * <h2>What comes out per channel</h2>
 *
 * <ul>
 *   <li>Per window, in window order: one EmotionEvent (not for a failed window), one trend UPDATE (also for failed and
 *       non-speech windows, then unchanged and {@code speech = false}), any alert, and the enhanced-audio chunks that
 *       became final ({@link io.meritstream.analytics.OverlapAdd}: hop-long chunks on a fixed grid from sample 0, seq
 *       from 0 without gaps, the last one shorter and flagged end of stream).
 *   <li>At the end (final window, or the idle timeout as a safety net): the remaining audio, a NEGATIVE_SPIKE_END for
 *       a spike still open (consecutiveHops 0), then the SESSION_SUMMARY; then all keyed state and the timer are gone.
 * </ul>
 *
 * <h2>Definitions</h2>
 *
 * <ul>
 *   <li>Speech: the speech gate ({@code analytics.vad.kind}: {@link io.meritstream.analytics.SileroSpeechGate}, a
 *       trained detector, by default; {@link io.meritstream.analytics.SpeechActivity}, frames loud enough and
 *       spectrally not flat, as fallback) on the enhanced audio, each frame once; the window is speech when the
 *       speech-frame ratio of the audio new in it reaches the minimum.
 *   <li>Trend: exponential smoothing of the class probabilities over speech windows, per hop {@code alpha = 1 -
 *       2^(-hop / half-life)}, starting from a calm prior (NEUTRAL 1); negativity = min(1, w_angry angry + w_sad sad);
 *       slope = negativity change over the hop, per second.
 *   <li>Alerts: {@link io.meritstream.analytics.SpikeDetector} (K consecutive speech hops strictly above enter; end at
 *       the first speech hop strictly below exit; cooldown on the audio timeline from a spike's end to the next start;
 *       non-speech hops transparent).
 *   <li>Summary: each window accounts for the audio that is new in it (the first window for everything up to its end),
 *       so speech time and the time share per label add up over the channel without counting overlaps twice; the
 *       time share is all zero, and the dominant emotion NEUTRAL, for a channel without speech.
 * </ul>
 */
package io.meritstream.analytics;
