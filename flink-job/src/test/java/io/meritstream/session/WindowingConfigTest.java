package io.meritstream.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.apache.flink.configuration.Configuration;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class WindowingConfigTest {

    @Test
    void defaultsAreThreeSecondWindowsEverySecond() {
        WindowingConfig config = WindowingConfig.defaults();
        assertThat(config.windowSamples()).isEqualTo(48_000);
        assertThat(config.hopSamples()).isEqualTo(16_000);
        assertThat(config.earlyFirstWindow()).isTrue();
        assertThat(config.idleTimeoutMs()).isEqualTo(30_000);
        assertThat(config.stateTtlMs()).isEqualTo(3_600_000);
        assertThat(config.windowStart(0)).isEqualTo(-32_000);
        assertThat(config.windowStart(2)).isZero();
    }

    @Test
    void readsEveryOptionFromAFlinkConfiguration() {
        Configuration conf = new Configuration();
        conf.set(WindowingConfig.WINDOW, Duration.ofSeconds(2));
        conf.set(WindowingConfig.HOP, Duration.ofMillis(500));
        conf.set(WindowingConfig.EARLY_FIRST_WINDOW, false);
        conf.set(WindowingConfig.REORDER_MAX_FRAMES, 7);
        conf.set(WindowingConfig.MAX_GAP_FILL, Duration.ofSeconds(4));
        conf.set(WindowingConfig.REORDER_EOS_WAIT, Duration.ofMillis(300));
        conf.set(WindowingConfig.IDLE_TIMEOUT, Duration.ofSeconds(10));
        conf.set(WindowingConfig.STATE_TTL, Duration.ofMinutes(5));
        conf.set(WindowingConfig.MAX_INPUT_STALL, Duration.ofMinutes(1));

        WindowingConfig config = WindowingConfig.fromConfiguration(conf);

        assertThat(config.windowSamples()).isEqualTo(32_000);
        assertThat(config.hopSamples()).isEqualTo(8_000);
        assertThat(config.earlyFirstWindow()).isFalse();
        assertThat(config.reorderMaxFrames()).isEqualTo(7);
        assertThat(config.maxGapFillSamples()).isEqualTo(64_000);
        assertThat(config.reorderEosWaitMs()).isEqualTo(300);
        assertThat(config.idleTimeoutMs()).isEqualTo(10_000);
        assertThat(config.stateTtlMs()).isEqualTo(300_000);
        assertThat(config.maxInputStallMs()).isEqualTo(60_000);
        assertThat(config.windowStart(3)).isEqualTo(24_000);
    }

    @Test
    void badValuesFailNamingTheOption() {
        assertInvalid(() -> WindowingConfig.builder().window(Duration.ZERO).build(), "windowing.window");
        assertInvalid(() -> WindowingConfig.builder().windowSamples(-1).build(), "windowing.window");
        assertInvalid(() -> WindowingConfig.builder().hopSamples(0).build(), "windowing.hop");
        assertInvalid(() -> WindowingConfig.builder().hop(Duration.ofSeconds(4)).build(), "windowing.hop");
        assertInvalid(() -> WindowingConfig.builder().reorderMaxFrames(-1).build(), "windowing.reorder.max-frames");
        assertInvalid(() -> WindowingConfig.builder().maxGapFillSamples(0).build(), "windowing.max-gap-fill");
        assertInvalid(() -> WindowingConfig.builder().idleTimeout(Duration.ZERO).build(), "windowing.idle-timeout");
        assertInvalid(
                () -> WindowingConfig.builder()
                        .reorderEosWait(Duration.ofMinutes(1))
                        .build(),
                "windowing.reorder.eos-wait");
        assertInvalid(
                () -> WindowingConfig.builder().stateTtl(Duration.ofSeconds(30)).build(), "windowing.state-ttl");
        assertInvalid(() -> WindowingConfig.builder().stateTtl(null).build(), "windowing.state-ttl");
        assertInvalid(
                () -> WindowingConfig.builder()
                        .maxInputStall(Duration.ofSeconds(-1))
                        .build(),
                "windowing.max-input-stall");
        // The backstop must outlast the longest an idle close can be held back by a stall.
        assertInvalid(
                () -> WindowingConfig.builder()
                        .maxInputStall(Duration.ofHours(1))
                        .build(),
                "windowing.state-ttl");
    }

    @Test
    void durationsMustBeWholeSamples() {
        assertThat(WindowingConfig.builder()
                        .window(Duration.ofNanos(62_500))
                        .hopSamples(1)
                        .build()
                        .windowSamples())
                .isEqualTo(1);
        assertThatThrownBy(() -> WindowingConfig.builder().window(Duration.ofNanos(100_000)))
                .hasMessageContaining("windowing.window")
                .hasMessageContaining("whole number of samples");
    }

    /** Invalid durations are rejected by their setter, the rest by build(). */
    private static void assertInvalid(ThrowingCallable build, String option) {
        assertThatThrownBy(build).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'" + option + "'");
    }
}
