package io.meritstream.cli.kafka;

import java.util.List;

/** The job's output topics, by role. */
public record OutputTopics(
        String enhancedAudio, String events, String trends, String alerts, String deadLetters, String summaries) {
    public static final OutputTopics DEFAULTS = new OutputTopics(
            "enhanced-audio", "emotion-events", "emotion-trends", "emotion-alerts", "audio-dlq", "call-summaries");

    /**
     * The job's option naming the call-summaries topic. Spelled out here rather than taken from the job's
     * {@code KafkaOptions}, so that the cli also runs a job build that does not know it yet (the topic then stays
     * empty).
     */
    public static final String CALL_SUMMARIES_OPTION = "kafka.topic.call-summaries";

    public List<String> all() {
        return List.of(enhancedAudio, events, trends, alerts, deadLetters, summaries);
    }
}
