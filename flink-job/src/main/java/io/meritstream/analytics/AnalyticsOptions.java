package io.meritstream.analytics;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Options of the analytics stage (trends, alerts, speech activity, reordering). Read and validated by {@link
 * io.meritstream.analytics.AnalyticsConfig#fromConfiguration}; a bad value fails the job at start-up with a message
 * naming the option and the allowed values.
 */
public final class AnalyticsOptions {
    private AnalyticsOptions() {}

    public static final ConfigOption<Duration> TREND_HALF_LIFE = ConfigOptions.key("analytics.trend.half-life")
            .durationType()
            .defaultValue(Duration.ofSeconds(2))
            .withDescription("Half-life of the exponential smoothing of the emotion probabilities over speech windows."
                    + " Per hop the smoothing factor is 1 - 2^(-hop / half-life). Allowed: 100 ms to 1 h.");

    public static final ConfigOption<Double> NEGATIVITY_WEIGHT_ANGRY = ConfigOptions.key(
                    "analytics.negativity.weight.angry")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("Weight of the smoothed ANGRY probability in the negativity score"
                    + " (negativity = min(1, angry weight * angry + sad weight * sad)). Allowed: 0 to 1; at least one"
                    + " of the two weights must be above 0.");

    public static final ConfigOption<Double> NEGATIVITY_WEIGHT_SAD = ConfigOptions.key(
                    "analytics.negativity.weight.sad")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("Weight of the smoothed SAD probability in the negativity score. Allowed: 0 to 1.");

    public static final ConfigOption<Double> ALERT_ENTER_THRESHOLD = ConfigOptions.key(
                    "analytics.alert.enter-threshold")
            .doubleType()
            .defaultValue(0.5)
            .withDescription("A negative spike starts when the smoothed negativity is above this value for"
                    + " 'analytics.alert.consecutive-hops' speech hops. 0.5 was chosen with 'merit tune-alerts' on two"
                    + " generated sets of the sample and held-out calls: against 0.6 it caught 7 of 12 negative"
                    + " spans instead of 6, with a median delay of 4.3 s instead of 6.0 s and no new false alert."
                    + " Allowed: above the exit threshold, at most 1.");

    public static final ConfigOption<Double> ALERT_EXIT_THRESHOLD = ConfigOptions.key("analytics.alert.exit-threshold")
            .doubleType()
            .defaultValue(0.4)
            .withDescription("A negative spike ends at the first speech hop whose smoothed negativity is below this"
                    + " value. Allowed: 0 or more, below the enter threshold.");

    public static final ConfigOption<Integer> ALERT_CONSECUTIVE_HOPS = ConfigOptions.key(
                    "analytics.alert.consecutive-hops")
            .intType()
            .defaultValue(3)
            .withDescription("K: speech hops of a run with the negativity above the enter threshold before"
                    + " NEGATIVE_SPIKE_START (in a row, unless 'analytics.alert.max-gap-hops' allows gaps). Non-speech"
                    + " hops neither count nor break the run. Allowed: 1 to 1000.");

    public static final ConfigOption<Integer> ALERT_MAX_GAP_HOPS = ConfigOptions.key("analytics.alert.max-gap-hops")
            .intType()
            .defaultValue(0)
            .withDescription("G: speech hops in a row at or below the enter threshold that a run towards K survives;"
                    + " one more breaks it. 0 means K hops in a row. Allowed: 0 to 1000.");

    public static final ConfigOption<Duration> ALERT_COOLDOWN = ConfigOptions.key("analytics.alert.cooldown")
            .durationType()
            .defaultValue(Duration.ofSeconds(15))
            .withDescription("Minimum audio time between the end of a spike and the start of the next one on the same"
                    + " channel (measured on the channel's timeline, so replays alert the same way). Allowed: 0 to"
                    + " 1 d.");

    public static final ConfigOption<String> VAD_KIND = ConfigOptions.key("analytics.vad.kind")
            .stringType()
            .defaultValue("silero")
            .withDescription("The speech gate of trends, alerts and the conversation metrics: 'silero' (Silero VAD v5,"
                    + " a trained detector shipped with the job, 32 ms frames; see models/vad/) or 'energy' (the"
                    + " band-energy and spectral-flatness rule of the 'analytics.vad.frame', '...energy-threshold-db'"
                    + " and '...max-spectral-flatness' options, which only it reads).");

    public static final ConfigOption<Double> VAD_SILERO_THRESHOLD = ConfigOptions.key("analytics.vad.silero-threshold")
            .doubleType()
            .defaultValue(0.5)
            .withDescription("Speech probability at which Silero VAD calls a frame speech; a talking channel stays"
                    + " talking down to this minus 0.15 (upstream's rule). Allowed: 0.15 to 1.");

    public static final ConfigOption<Duration> VAD_FRAME = ConfigOptions.key("analytics.vad.frame")
            .durationType()
            .defaultValue(Duration.ofMillis(20))
            .withDescription(
                    "Frame length of the energy speech gate ('analytics.vad.kind' energy). Allowed: 10 ms to 50 ms.");

    public static final ConfigOption<Double> VAD_ENERGY_THRESHOLD_DB = ConfigOptions.key(
                    "analytics.vad.energy-threshold-db")
            .doubleType()
            .defaultValue(-45.0)
            .withDescription("A frame can be speech only if its RMS level in the 300-3400 Hz speech band, in dB"
                    + " relative to full scale, is at least this (the band keeps mains hum out). Allowed: -120 to 0.");

    public static final ConfigOption<Double> VAD_MAX_SPECTRAL_FLATNESS = ConfigOptions.key(
                    "analytics.vad.max-spectral-flatness")
            .doubleType()
            .defaultValue(0.4)
            .withDescription("A frame can be speech only if its spectral flatness (geometric over arithmetic mean of"
                    + " the power spectrum: about 0.5 for white noise, far lower for voiced speech) is at most this;"
                    + " 1 disables the test. Allowed: above 0, at most 1.");

    public static final ConfigOption<Double> VAD_MIN_SPEECH_RATIO = ConfigOptions.key("analytics.vad.min-speech-ratio")
            .doubleType()
            .defaultValue(0.2)
            .withDescription("A window counts as speech when at least this fraction of its frames is speech."
                    + " Non-speech windows do not move trends or raise alerts. Allowed: 0 to 1.");

    public static final ConfigOption<Integer> REORDER_MAX_PENDING = ConfigOptions.key(
                    "analytics.reorder.max-pending-windows")
            .intType()
            .defaultValue(32)
            .withDescription("Window results per channel held back while waiting for an earlier window (inference"
                    + " may complete out of order). When exceeded, the missing windows are given up on and counted."
                    + " Allowed: 1 to 10000.");

    public static final ConfigOption<Duration> IDLE_TIMEOUT = ConfigOptions.key("analytics.idle-timeout")
            .durationType()
            .defaultValue(Duration.ofMinutes(5))
            .withDescription("Processing time after the last window result of a channel at which the channel is closed"
                    + " (summary emitted, state cleared) even though its final window never arrived. A safety net: the"
                    + " windower normally sends a final window. Allowed: 1 s to 7 days.");
}
