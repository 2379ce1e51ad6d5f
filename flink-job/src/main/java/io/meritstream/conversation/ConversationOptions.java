package io.meritstream.conversation;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** Options of the conversation metrics ({@link CallConversation}); validated by {@link ConversationConfig}. */
public final class ConversationOptions {
    private ConversationOptions() {}

    public static final ConfigOption<Duration> TALK_HANGOVER = ConfigOptions.key("conversation.talk-hangover")
            .durationType()
            .defaultValue(Duration.ofMillis(300))
            .withDescription("A channel talks from a speech frame of its speech gate until this much non-speech has"
                    + " followed, so that the pauses between words do not split its talk into bursts (and each burst"
                    + " into an interruption). Allowed: 0 to 5 s.");

    public static final ConfigOption<Duration> MONOLOGUE_MAX_PAUSE = ConfigOptions.key(
                    "conversation.monologue-max-pause")
            .durationType()
            .defaultValue(Duration.ofSeconds(2))
            .withDescription("A monologue (one channel talking while no other does) survives pauses of its speaker up"
                    + " to this long; a longer pause, or any other channel talking, ends it. Allowed: 0 to 1 min.");

    public static final ConfigOption<String> CUSTOMER_CHANNEL = ConfigOptions.key("conversation.customer-channel")
            .stringType()
            .defaultValue("customer")
            .withDescription("Name of the channel that carries the customer, for the call summary's longest customer"
                    + " monologue.");

    public static final ConfigOption<Duration> PROGRESS_INTERVAL = ConfigOptions.key("conversation.progress-interval")
            .durationType()
            .defaultValue(Duration.ofSeconds(5))
            .withDescription("Call time between two PROGRESS call summaries of a running call (the FINAL one comes"
                    + " when all its channels have ended). Allowed: 1 s to 1 h.");

    public static final ConfigOption<Duration> MAX_CHANNEL_LAG = ConfigOptions.key("conversation.max-channel-lag")
            .durationType()
            .defaultValue(Duration.ofSeconds(30))
            .withDescription("How far one channel's speech decisions may run ahead of another's while the metrics"
                    + " wait to line them up; beyond it the lagging channel counts as silent for that time. Bounds"
                    + " the state of a call whose channel stalls. Allowed: 1 s to 10 min.");

    public static final ConfigOption<Integer> EXPECTED_CHANNELS = ConfigOptions.key("conversation.expected-channels")
            .intType()
            .defaultValue(2)
            .withDescription("Channels a call is expected to have (agent and customer). Until that many have sent"
                    + " their first window, the metrics wait for the missing ones (up to"
                    + " 'conversation.max-channel-lag'), since the channels' first windows need not arrive together;"
                    + " a call with fewer still gets its FINAL summary when its channels end. Allowed: 1 to 16.");

    public static final ConfigOption<Duration> STATE_TTL = ConfigOptions.key("conversation.state-ttl")
            .durationType()
            .defaultValue(Duration.ofHours(1))
            .withDescription("Backstop: a call's state not written for this long is dropped without a FINAL summary."
                    + " Must exceed 'analytics.idle-timeout', after which analytics ends a silent channel. Allowed:"
                    + " 1 min to 7 d.");
}
