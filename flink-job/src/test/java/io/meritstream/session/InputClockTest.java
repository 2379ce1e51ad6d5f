package io.meritstream.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class InputClockTest {
    private static final long STALL_AFTER = 1_000;
    private static final long MAX_STALL = 60_000;
    private static final long IDLE = 30_000;

    @Test
    void whileTheInputFlowsIdleTimeIsWallTime() {
        InputClock clock = new InputClock(STALL_AFTER, MAX_STALL, IDLE);
        for (long t = 0; t <= 40_000; t += 20) {
            clock.input(t);
        }
        assertThat(clock.idleMs(5_000, 40_000)).isEqualTo(35_000);
        assertThat(clock.idleMs(40_000, 40_000)).isZero();
    }

    @Test
    void aStallOfTheWholeInputIsLeftOutBeyondItsFirstSecond() {
        InputClock clock = new InputClock(STALL_AFTER, MAX_STALL, IDLE);
        clock.input(0);
        clock.input(10_000); // a 10 s gap: 9 s of it is a stall
        clock.input(10_020);
        assertThat(clock.idleMs(0, 10_020)).isEqualTo(1_020);
        // A gap still open counts the same way.
        assertThat(clock.idleMs(10_020, 40_020)).isEqualTo(1_000);
    }

    @Test
    void atMostMaxStallIsLeftOut() {
        InputClock clock = new InputClock(STALL_AFTER, MAX_STALL, IDLE);
        clock.input(0);
        assertThat(clock.idleMs(0, 61_000)).isEqualTo(1_000);
        assertThat(clock.idleMs(0, 100_000)).isEqualTo(100_000 - MAX_STALL);
        assertThat(clock.earliestDeadline(0, IDLE, 61_000)).isEqualTo(61_000 + IDLE - 1_000);
    }

    @Test
    void withoutMaxStallIdleTimeIsWallTime() {
        InputClock clock = new InputClock(STALL_AFTER, 0, IDLE);
        clock.input(0);
        assertThat(clock.idleMs(0, 50_000)).isEqualTo(50_000);
    }

    @Test
    void idlenessCountsFromTheInstancesStartAtTheEarliest() {
        InputClock clock = new InputClock(STALL_AFTER, MAX_STALL, IDLE);
        clock.tick(100_000); // a restored timer, long overdue
        assertThat(clock.idleMs(5_000, 100_000)).isZero();
        clock.input(100_500);
        assertThat(clock.idleMs(5_000, 110_500)).isEqualTo(1_500);
    }

    @Test
    void manyStallsAreKeptOnlyAsLongAsTheyCanMatter() {
        InputClock clock = new InputClock(STALL_AFTER, MAX_STALL, IDLE);
        long t = 0;
        for (int i = 0; i < 100_000; i++) {
            clock.input(t);
            t += 3_000; // 2 s of stall each
        }
        clock.input(t);
        // Only the last 30 s of stalls are within this channel's idle time: 10 of them, 20 s.
        assertThat(clock.idleMs(t - 30_000, t)).isEqualTo(10_000);
    }
}
