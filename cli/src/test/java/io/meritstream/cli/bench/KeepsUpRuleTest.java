package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KeepsUpRuleTest {
    private final KeepsUpRule rule = KeepsUpRule.DEFAULT;

    @Test
    void keepsUpWhenRateLatencyAndFailuresAreWithinLimits() {
        KeepsUpRule.Verdict v = rule.judge(50, 49, 1400, 1000, 0);
        assertThat(v.keepsUp()).isTrue();
        assertThat(v.reason()).isNull();
    }

    @Test
    void boundariesAreInclusive() {
        assertThat(rule.judge(100, 95, 1500, 1000, 0).keepsUp()).isTrue();
        assertThat(rule.judge(100, 94.9, 1500, 1000, 0).keepsUp()).isFalse();
        assertThat(rule.judge(100, 95, 1501, 1000, 0).keepsUp()).isFalse();
    }

    @Test
    void fallingBehindIsNamed() {
        KeepsUpRule.Verdict v = rule.judge(64, 40, 900, 1000, 0);
        assertThat(v.keepsUp()).isFalse();
        assertThat(v.reason()).contains("40.00 events/s").contains("0.63").contains("64.00");
    }

    @Test
    void latencyLimitFollowsTheHop() {
        // 1.8 s is too slow at hop 1 s but fine at hop 2 s.
        assertThat(rule.judge(10, 10, 1800, 1000, 0).reason()).contains("1800 ms > hop + 500 ms = 1500 ms");
        assertThat(rule.judge(10, 10, 1800, 2000, 0).keepsUp()).isTrue();
    }

    @Test
    void noEventsOrFailedWindowsDoNotKeepUp() {
        assertThat(rule.judge(10, 10, Double.NaN, 1000, 0).keepsUp()).isFalse();
        assertThat(rule.judge(10, 0, Double.NaN, 1000, 0).keepsUp()).isFalse();
        KeepsUpRule.Verdict failed = rule.judge(10, 10, 1200, 1000, 3);
        assertThat(failed.keepsUp()).isFalse();
        assertThat(failed.reason()).contains("3 windows failed");
    }

    @Test
    void customRule() {
        KeepsUpRule strict = new KeepsUpRule(1.0, 100);
        assertThat(strict.judge(10, 9.9, 1000, 1000, 0).keepsUp()).isFalse();
        assertThat(strict.judge(10, 10, 1100, 1000, 0).keepsUp()).isTrue();
        assertThatThrownBy(() -> new KeepsUpRule(0, 100)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KeepsUpRule(0.9, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
