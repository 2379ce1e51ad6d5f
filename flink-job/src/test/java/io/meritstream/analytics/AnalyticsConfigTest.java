package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.junit.jupiter.api.Test;

class AnalyticsConfigTest {

    @Test
    void defaultsAreValidAndAsDocumented() {
        AnalyticsConfig c = AnalyticsConfig.defaults();
        assertThat(c.halfLifeSeconds).isEqualTo(2.0);
        assertThat(c.weightAngry).isEqualTo(1.0);
        assertThat(c.weightSad).isEqualTo(1.0);
        assertThat(c.enterThreshold).isEqualTo(0.5);
        assertThat(c.exitThreshold).isEqualTo(0.4);
        assertThat(c.consecutiveHops).isEqualTo(3);
        assertThat(c.maxGapHops).isZero();
        assertThat(c.cooldownMs).isEqualTo(15_000);
        assertThat(c.vadFrameMs).isEqualTo(20);
        assertThat(c.minSpeechRatio).isEqualTo(0.2);
        assertThat(c.maxPendingWindows).isEqualTo(32);
        assertThat(c.idleTimeoutMs).isEqualTo(300_000);
    }

    @Test
    void readsEveryOption() {
        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.TREND_HALF_LIFE, Duration.ofMillis(1500));
        conf.set(AnalyticsOptions.NEGATIVITY_WEIGHT_ANGRY, 0.7);
        conf.set(AnalyticsOptions.NEGATIVITY_WEIGHT_SAD, 0.3);
        conf.set(AnalyticsOptions.ALERT_ENTER_THRESHOLD, 0.8);
        conf.set(AnalyticsOptions.ALERT_EXIT_THRESHOLD, 0.5);
        conf.set(AnalyticsOptions.ALERT_CONSECUTIVE_HOPS, 5);
        conf.set(AnalyticsOptions.ALERT_COOLDOWN, Duration.ofSeconds(40));
        conf.set(AnalyticsOptions.VAD_FRAME, Duration.ofMillis(30));
        conf.set(AnalyticsOptions.VAD_ENERGY_THRESHOLD_DB, -50.0);
        conf.set(AnalyticsOptions.VAD_MAX_SPECTRAL_FLATNESS, 0.3);
        conf.set(AnalyticsOptions.VAD_MIN_SPEECH_RATIO, 0.5);
        conf.set(AnalyticsOptions.REORDER_MAX_PENDING, 8);
        conf.set(AnalyticsOptions.IDLE_TIMEOUT, Duration.ofSeconds(90));
        AnalyticsConfig c = AnalyticsConfig.fromConfiguration(conf);
        assertThat(c.halfLifeSeconds).isEqualTo(1.5);
        assertThat(c.negativity(new float[] {0.5f, 0.5f, 0f, 0f})).isCloseTo(0.5f, within(1e-6f));
        assertThat(c.enterThreshold).isEqualTo(0.8);
        assertThat(c.exitThreshold).isEqualTo(0.5);
        assertThat(c.consecutiveHops).isEqualTo(5);
        assertThat(c.cooldownMs).isEqualTo(40_000);
        assertThat(c.vadFrameMs).isEqualTo(30);
        assertThat(c.vadEnergyThresholdDb).isEqualTo(-50.0);
        assertThat(c.vadMaxSpectralFlatness).isEqualTo(0.3);
        assertThat(c.minSpeechRatio).isEqualTo(0.5);
        assertThat(c.maxPendingWindows).isEqualTo(8);
        assertThat(c.idleTimeoutMs).isEqualTo(90_000);
    }

    @Test
    void negativityIsClampedToOne() {
        AnalyticsConfig c = AnalyticsConfig.defaults();
        // Probabilities slightly off a sum of 1 (float softmax) must not push the score past 1.
        assertThat(c.negativity(new float[] {0.6f, 0.41f, 0f, 0f})).isEqualTo(1f);
        assertThat(c.negativity(new float[] {0.2f, 0.1f, 0.3f, 0.4f})).isCloseTo(0.3f, within(1e-6f));
    }

    @Test
    void exitMustBeBelowEnter() {
        assertRejected(
                with(AnalyticsOptions.ALERT_EXIT_THRESHOLD, 0.5),
                "'analytics.alert.exit-threshold' (0.5) must be lower than 'analytics.alert.enter-threshold' (0.5);"
                        + " allowed: 0 <= exit < enter <= 1.");
    }

    @Test
    void thresholdsAndWeightsMustBeWithinZeroAndOne() {
        assertRejected(
                with(AnalyticsOptions.ALERT_ENTER_THRESHOLD, 1.5),
                "'analytics.alert.enter-threshold' is 1.5; allowed: 0 to 1.");
        assertRejected(
                with(AnalyticsOptions.ALERT_EXIT_THRESHOLD, -0.1),
                "'analytics.alert.exit-threshold' is -0.1; allowed: 0 to 1.");
        assertRejected(
                with(AnalyticsOptions.NEGATIVITY_WEIGHT_SAD, Double.NaN),
                "'analytics.negativity.weight.sad' is NaN; allowed: 0 to 1.");
        assertRejected(
                with(AnalyticsOptions.VAD_MIN_SPEECH_RATIO, 2.0),
                "'analytics.vad.min-speech-ratio' is 2.0; allowed: 0 to 1.");
    }

    @Test
    void weightsMustNotBothBeZero() {
        Configuration conf = with(AnalyticsOptions.NEGATIVITY_WEIGHT_ANGRY, 0.0);
        conf.set(AnalyticsOptions.NEGATIVITY_WEIGHT_SAD, 0.0);
        assertRejected(
                conf,
                "'analytics.negativity.weight.angry' and 'analytics.negativity.weight.sad' are both 0, so negativity"
                        + " would always be 0; allowed: 0 to 1 each, at least one above 0.");
    }

    @Test
    void consecutiveHopsMustBeAtLeastOne() {
        assertRejected(
                with(AnalyticsOptions.ALERT_CONSECUTIVE_HOPS, 0),
                "'analytics.alert.consecutive-hops' is 0; allowed: 1 to 1000.");
        assertRejected(
                with(AnalyticsOptions.ALERT_MAX_GAP_HOPS, -1),
                "'analytics.alert.max-gap-hops' is -1; allowed: 0 to 1000.");
    }

    @Test
    void durationsMustBeInRange() {
        assertRejected(
                with(AnalyticsOptions.TREND_HALF_LIFE, Duration.ZERO),
                "'analytics.trend.half-life' is 0 ms; allowed: 100 ms to 1 h.");
        assertRejected(
                with(AnalyticsOptions.ALERT_COOLDOWN, Duration.ofSeconds(-1)),
                "'analytics.alert.cooldown' is -1000 ms; allowed: 0 ms to 1 d.");
        assertRejected(
                with(AnalyticsOptions.VAD_FRAME, Duration.ofMillis(60)),
                "'analytics.vad.frame' is 60 ms; allowed: 10 ms to 50 ms.");
        assertRejected(
                with(AnalyticsOptions.IDLE_TIMEOUT, Duration.ofDays(8)),
                "'analytics.idle-timeout' is 8 d; allowed: 1 s to 7 d.");
    }

    @Test
    void otherRanges() {
        assertRejected(
                with(AnalyticsOptions.VAD_MAX_SPECTRAL_FLATNESS, 0.0),
                "'analytics.vad.max-spectral-flatness' is 0, so no frame could ever be speech; allowed: above 0,"
                        + " at most 1.");
        assertRejected(
                with(AnalyticsOptions.VAD_ENERGY_THRESHOLD_DB, 3.0),
                "'analytics.vad.energy-threshold-db' is 3.0; allowed: -120 to 0.");
        assertRejected(
                with(AnalyticsOptions.REORDER_MAX_PENDING, 0),
                "'analytics.reorder.max-pending-windows' is 0; allowed: 1 to 10000.");
    }

    @Test
    void everyOptionHasADescription() throws IllegalAccessException {
        int options = 0;
        for (java.lang.reflect.Field field : AnalyticsOptions.class.getFields()) {
            if (field.get(null) instanceof ConfigOption<?> option) {
                options++;
                assertThat(option.key()).startsWith("analytics.");
                assertThat(option.description().toString()).isNotBlank();
                assertThat(option.hasDefaultValue()).as(option.key()).isTrue();
            }
        }
        assertThat(options).isEqualTo(16);
    }

    private static <T> Configuration with(ConfigOption<T> option, T value) {
        Configuration conf = new Configuration();
        conf.set(option, value);
        return conf;
    }

    private static void assertRejected(Configuration conf, String message) {
        assertThatThrownBy(() -> AnalyticsConfig.fromConfiguration(conf))
                .isInstanceOf(IllegalConfigurationException.class)
                .hasMessage("Invalid analytics configuration: " + message);
    }
}
