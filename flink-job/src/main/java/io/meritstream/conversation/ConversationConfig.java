package io.meritstream.conversation;

import java.io.Serializable;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.configuration.ReadableConfig;

/** The validated {@link ConversationOptions}; construction fails fast naming the option. */
public final class ConversationConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public final long talkHangoverMs;
    public final long monologueMaxPauseMs;
    public final String customerChannel;
    public final long progressIntervalMs;
    public final long maxChannelLagMs;
    public final int expectedChannels;
    public final long stateTtlMs;

    private ConversationConfig(ReadableConfig conf) {
        this.talkHangoverMs = millis(conf, ConversationOptions.TALK_HANGOVER, Duration.ZERO, Duration.ofSeconds(5));
        this.monologueMaxPauseMs =
                millis(conf, ConversationOptions.MONOLOGUE_MAX_PAUSE, Duration.ZERO, Duration.ofMinutes(1));
        this.customerChannel = conf.get(ConversationOptions.CUSTOMER_CHANNEL);
        if (customerChannel.isBlank()) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid conversation configuration: '%s' is empty; it names the customer's channel.",
                    ConversationOptions.CUSTOMER_CHANNEL.key()));
        }
        this.progressIntervalMs =
                millis(conf, ConversationOptions.PROGRESS_INTERVAL, Duration.ofSeconds(1), Duration.ofHours(1));
        this.maxChannelLagMs =
                millis(conf, ConversationOptions.MAX_CHANNEL_LAG, Duration.ofSeconds(1), Duration.ofMinutes(10));
        this.expectedChannels = conf.get(ConversationOptions.EXPECTED_CHANNELS);
        if (expectedChannels < 1 || expectedChannels > 16) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid conversation configuration: '%s' is %d; allowed: 1 to 16.",
                    ConversationOptions.EXPECTED_CHANNELS.key(), expectedChannels));
        }
        this.stateTtlMs = millis(conf, ConversationOptions.STATE_TTL, Duration.ofMinutes(1), Duration.ofDays(7));
    }

    public static ConversationConfig fromConfiguration(ReadableConfig conf) {
        return new ConversationConfig(conf);
    }

    public static ConversationConfig defaults() {
        return new ConversationConfig(new Configuration());
    }

    private static long millis(ReadableConfig conf, ConfigOption<Duration> option, Duration min, Duration max) {
        Duration value = conf.get(option);
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid conversation configuration: '%s' is %d ms; allowed: %d ms to %d ms.",
                    option.key(), value.toMillis(), min.toMillis(), max.toMillis()));
        }
        return value.toMillis();
    }
}
