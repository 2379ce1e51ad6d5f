package io.meritstream.speaker;

import java.io.Serializable;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Settings of the speaker reference, validated when built. The reference runs when the model's card declares the
 * speaker-reference inputs; these options say whether the model is given it, after how much speech, and how fast old
 * speech is forgotten.
 */
public final class SpeakerReferenceConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final ConfigOption<Boolean> ENABLED = ConfigOptions.key("speaker-reference.enabled")
            .booleanType()
            .defaultValue(true)
            .withDescription("Judge each window's emotion relative to how this channel's speaker has sounded so far,"
                    + " for models whose card declares the speaker-reference inputs (others ignore it). Off: the"
                    + " model always gets 'no reference' and judges each window alone.");
    public static final ConfigOption<Integer> WARM_UP_SEGMENTS = ConfigOptions.key("speaker-reference.warm-up-segments")
            .intType()
            .defaultValue(2)
            .withDescription("Non-overlapping windows of speech (each with at least 1 s active and 0.3 s voiced) the"
                    + " reference must hold before the model is given it. Allowed: 1 to 1000.");
    public static final ConfigOption<Duration> HALF_LIFE = ConfigOptions.key("speaker-reference.half-life")
            .durationType()
            .defaultValue(Duration.ofMinutes(5))
            .withDescription("Audio time after which an earlier segment's weight in the reference has halved, so a"
                    + " reference follows a speaker who changes over a long call. Allowed: 10 s to 24 h.");

    private final boolean enabled;
    private final int warmUpSegments;
    private final double halfLifeSeconds;

    public SpeakerReferenceConfig(boolean enabled, int warmUpSegments, Duration halfLife) {
        if (warmUpSegments < 1 || warmUpSegments > 1000) {
            throw new IllegalArgumentException(
                    WARM_UP_SEGMENTS.key() + " must be between 1 and 1000, got " + warmUpSegments);
        }
        if (halfLife.compareTo(Duration.ofSeconds(10)) < 0 || halfLife.compareTo(Duration.ofHours(24)) > 0) {
            throw new IllegalArgumentException(HALF_LIFE.key() + " must be between 10 s and 24 h, got " + halfLife);
        }
        this.enabled = enabled;
        this.warmUpSegments = warmUpSegments;
        this.halfLifeSeconds = halfLife.toMillis() / 1000.0;
    }

    public static SpeakerReferenceConfig defaults() {
        return new SpeakerReferenceConfig(
                ENABLED.defaultValue(), WARM_UP_SEGMENTS.defaultValue(), HALF_LIFE.defaultValue());
    }

    public static SpeakerReferenceConfig fromConfiguration(ReadableConfig conf) {
        return new SpeakerReferenceConfig(conf.get(ENABLED), conf.get(WARM_UP_SEGMENTS), conf.get(HALF_LIFE));
    }

    public boolean enabled() {
        return enabled;
    }

    public int warmUpSegments() {
        return warmUpSegments;
    }

    public double halfLifeSeconds() {
        return halfLifeSeconds;
    }

    /** Weight factor of the earlier segments when a segment of {@code segmentSeconds} joins. */
    public double decayPerSegment(double segmentSeconds) {
        return Math.pow(0.5, segmentSeconds / halfLifeSeconds);
    }
}
