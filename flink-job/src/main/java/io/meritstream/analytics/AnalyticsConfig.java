package io.meritstream.analytics;

import java.io.Serializable;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The validated settings of the analytics stage, read once from the job configuration ({@link AnalyticsOptions}) and
 * shipped with the operator. Construction fails fast with a message naming the option and the allowed values, so a
 * bad configuration stops the job at start-up instead of producing odd alerts.
 */
public final class AnalyticsConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public final double halfLifeSeconds;
    public final double weightAngry;
    public final double weightSad;
    public final double enterThreshold;
    public final double exitThreshold;
    public final int consecutiveHops;
    public final int maxGapHops;
    public final long cooldownMs;
    public final SpeechGate.Kind speechGate;
    public final double sileroThreshold;
    public final int vadFrameMs;
    public final double vadEnergyThresholdDb;
    public final double vadMaxSpectralFlatness;
    public final double minSpeechRatio;
    public final int maxPendingWindows;
    public final long idleTimeoutMs;

    private AnalyticsConfig(ReadableConfig conf) {
        Duration halfLife = conf.get(AnalyticsOptions.TREND_HALF_LIFE);
        requireDuration(AnalyticsOptions.TREND_HALF_LIFE, halfLife, Duration.ofMillis(100), Duration.ofHours(1));
        this.halfLifeSeconds = halfLife.toNanos() / 1e9;

        this.weightAngry = requireRange(AnalyticsOptions.NEGATIVITY_WEIGHT_ANGRY, conf, 0, 1);
        this.weightSad = requireRange(AnalyticsOptions.NEGATIVITY_WEIGHT_SAD, conf, 0, 1);
        if (weightAngry == 0 && weightSad == 0) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid analytics configuration: '%s' and '%s' are both 0, so negativity would always be 0;"
                            + " allowed: 0 to 1 each, at least one above 0.",
                    AnalyticsOptions.NEGATIVITY_WEIGHT_ANGRY.key(), AnalyticsOptions.NEGATIVITY_WEIGHT_SAD.key()));
        }

        this.enterThreshold = requireRange(AnalyticsOptions.ALERT_ENTER_THRESHOLD, conf, 0, 1);
        this.exitThreshold = requireRange(AnalyticsOptions.ALERT_EXIT_THRESHOLD, conf, 0, 1);
        if (!(exitThreshold < enterThreshold)) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid analytics configuration: '%s' (%s) must be lower than '%s' (%s); allowed: 0 <= exit <"
                            + " enter <= 1.",
                    AnalyticsOptions.ALERT_EXIT_THRESHOLD.key(),
                    exitThreshold,
                    AnalyticsOptions.ALERT_ENTER_THRESHOLD.key(),
                    enterThreshold));
        }

        this.consecutiveHops = requireIntRange(AnalyticsOptions.ALERT_CONSECUTIVE_HOPS, conf, 1, 1000);
        this.maxGapHops = requireIntRange(AnalyticsOptions.ALERT_MAX_GAP_HOPS, conf, 0, 1000);
        Duration cooldown = conf.get(AnalyticsOptions.ALERT_COOLDOWN);
        requireDuration(AnalyticsOptions.ALERT_COOLDOWN, cooldown, Duration.ZERO, Duration.ofDays(1));
        this.cooldownMs = cooldown.toMillis();

        String kind = conf.get(AnalyticsOptions.VAD_KIND);
        this.speechGate = switch (kind.toLowerCase(java.util.Locale.ROOT)) {
            case "silero" -> SpeechGate.Kind.SILERO;
            case "energy" -> SpeechGate.Kind.ENERGY;
            default -> throw new IllegalConfigurationException(String.format(
                    "Invalid analytics configuration: '%s' is '%s'; allowed: silero, energy.",
                    AnalyticsOptions.VAD_KIND.key(), kind));
        };
        this.sileroThreshold =
                requireRange(AnalyticsOptions.VAD_SILERO_THRESHOLD, conf, SileroSpeechGate.HYSTERESIS, 1);
        Duration frame = conf.get(AnalyticsOptions.VAD_FRAME);
        requireDuration(AnalyticsOptions.VAD_FRAME, frame, Duration.ofMillis(10), Duration.ofMillis(50));
        this.vadFrameMs = (int) frame.toMillis();
        this.vadEnergyThresholdDb = requireRange(AnalyticsOptions.VAD_ENERGY_THRESHOLD_DB, conf, -120, 0);
        this.vadMaxSpectralFlatness = requireRange(AnalyticsOptions.VAD_MAX_SPECTRAL_FLATNESS, conf, 0, 1);
        if (vadMaxSpectralFlatness == 0) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid analytics configuration: '%s' is 0, so no frame could ever be speech; allowed: above 0,"
                            + " at most 1.",
                    AnalyticsOptions.VAD_MAX_SPECTRAL_FLATNESS.key()));
        }
        this.minSpeechRatio = requireRange(AnalyticsOptions.VAD_MIN_SPEECH_RATIO, conf, 0, 1);

        this.maxPendingWindows = requireIntRange(AnalyticsOptions.REORDER_MAX_PENDING, conf, 1, 10_000);
        Duration idle = conf.get(AnalyticsOptions.IDLE_TIMEOUT);
        requireDuration(AnalyticsOptions.IDLE_TIMEOUT, idle, Duration.ofSeconds(1), Duration.ofDays(7));
        this.idleTimeoutMs = idle.toMillis();
    }

    /** Reads and validates every analytics option; unset options take their defaults. */
    public static AnalyticsConfig fromConfiguration(ReadableConfig conf) {
        return new AnalyticsConfig(conf);
    }

    /** All defaults. */
    public static AnalyticsConfig defaults() {
        return new AnalyticsConfig(new Configuration());
    }

    /** Negativity of a probability vector in the model's class order: weighted angry + sad, clamped to [0, 1]. */
    public float negativity(float[] probabilities) {
        double n = weightAngry * probabilities[Emotions.ANGRY] + weightSad * probabilities[Emotions.SAD];
        return (float) Math.max(0, Math.min(1, n));
    }

    private static double requireRange(ConfigOption<Double> option, ReadableConfig conf, double min, double max) {
        double value = conf.get(option);
        if (!(value >= min && value <= max)) { // also rejects NaN
            throw new IllegalConfigurationException(String.format(
                    "Invalid analytics configuration: '%s' is %s; allowed: %s to %s.",
                    option.key(), value, trim(min), trim(max)));
        }
        return value;
    }

    private static int requireIntRange(ConfigOption<Integer> option, ReadableConfig conf, int min, int max) {
        int value = conf.get(option);
        if (value < min || value > max) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid analytics configuration: '%s' is %d; allowed: %d to %d.", option.key(), value, min, max));
        }
        return value;
    }

    private static void requireDuration(ConfigOption<Duration> option, Duration value, Duration min, Duration max) {
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new IllegalConfigurationException(String.format(
                    "Invalid analytics configuration: '%s' is %s; allowed: %s to %s.",
                    option.key(), human(value), human(min), human(max)));
        }
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static String human(Duration d) {
        if (d.isZero()) {
            return "0 ms";
        }
        if (d.toMillis() % 1000 != 0 || d.isNegative()) {
            return d.toMillis() + " ms";
        }
        long s = d.toSeconds();
        if (s % 86_400 == 0) {
            return s / 86_400 + " d";
        }
        if (s % 3600 == 0) {
            return s / 3600 + " h";
        }
        return s % 60 == 0 ? s / 60 + " min" : s + " s";
    }
}
