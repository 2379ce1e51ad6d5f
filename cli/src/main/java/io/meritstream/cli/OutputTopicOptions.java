package io.meritstream.cli;

import io.meritstream.cli.kafka.OutputTopics;
import picocli.CommandLine.Option;

/**
 * The job's six output topics as command-line options, shared by {@code run}, {@code collect} and {@code watch} (a
 * picocli mixin).
 */
final class OutputTopicOptions {
    @Option(names = "--enhanced-topic", defaultValue = "enhanced-audio", description = "Default: ${DEFAULT-VALUE}.")
    String enhancedTopic;

    @Option(names = "--events-topic", defaultValue = "emotion-events", description = "Default: ${DEFAULT-VALUE}.")
    String eventsTopic;

    @Option(names = "--trends-topic", defaultValue = "emotion-trends", description = "Default: ${DEFAULT-VALUE}.")
    String trendsTopic;

    @Option(names = "--alerts-topic", defaultValue = "emotion-alerts", description = "Default: ${DEFAULT-VALUE}.")
    String alertsTopic;

    @Option(names = "--dlq-topic", defaultValue = "audio-dlq", description = "Default: ${DEFAULT-VALUE}.")
    String dlqTopic;

    @Option(
            names = "--summaries-topic",
            defaultValue = "call-summaries",
            description = "Conversation metrics per call (CallSummary). Default: ${DEFAULT-VALUE}.")
    String summariesTopic;

    OutputTopics topics() {
        return new OutputTopics(enhancedTopic, eventsTopic, trendsTopic, alertsTopic, dlqTopic, summariesTopic);
    }
}
