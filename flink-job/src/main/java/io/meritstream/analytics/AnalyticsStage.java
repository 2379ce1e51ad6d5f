package io.meritstream.analytics;

import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.inference.StreamingClassifier;
import io.meritstream.inference.WindowResult;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * Wires {@link ChannelAnalytics} into a topology: keys the window results by session + channel and returns the four
 * output streams, one per topic, ready for their sinks.
 */
public final class AnalyticsStage {
    /** Operator name and uid (the uid keeps state across job upgrades: never change it). */
    public static final String NAME = "analytics: overlap-add, emotion events, trends, alerts";

    public static final String UID = "analytics";

    private AnalyticsStage() {}

    /** The outputs of the stage, one stream per output topic. */
    public record Outputs(
            SingleOutputStreamOperator<EmotionEvent> emotionEvents,
            DataStream<EnhancedAudioChunk> enhancedAudio,
            DataStream<EmotionTrend> emotionTrends,
            DataStream<EmotionAlert> emotionAlerts,
            DataStream<ChannelActivity> channelActivity) {}

    public static Outputs apply(DataStream<WindowResult> results, AnalyticsConfig config) {
        return apply(results, config, null);
    }

    /** With a streaming model's classifier ({@link StreamingClassifier.Spec#of}; null for a window model). */
    public static Outputs apply(
            DataStream<WindowResult> results, AnalyticsConfig config, StreamingClassifier.Spec classifier) {
        SingleOutputStreamOperator<EmotionEvent> events = results.keyBy(ChannelAnalytics.keySelector(), Types.STRING)
                .process(new ChannelAnalytics(config, classifier), ChannelAnalytics.EMOTION_EVENT_TYPE)
                .name(NAME)
                .uid(UID);
        return new Outputs(
                events,
                events.getSideOutput(ChannelAnalytics.ENHANCED_AUDIO),
                events.getSideOutput(ChannelAnalytics.EMOTION_TRENDS),
                events.getSideOutput(ChannelAnalytics.EMOTION_ALERTS),
                events.getSideOutput(ChannelAnalytics.CHANNEL_ACTIVITY));
    }
}
