package io.meritstream.cli.kafka;

import java.util.List;

/** The job's output topics, by role. */
public record OutputTopics(String enhancedAudio, String events, String trends, String alerts, String deadLetters) {
    public static final OutputTopics DEFAULTS =
            new OutputTopics("enhanced-audio", "emotion-events", "emotion-trends", "emotion-alerts", "audio-dlq");

    public List<String> all() {
        return List.of(enhancedAudio, events, trends, alerts, deadLetters);
    }
}
