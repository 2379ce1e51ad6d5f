package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The hops a streaming model's classifier pools over: the newest three consecutive ones, a gap starting afresh. */
class EmotionHistoryTest {
    private static final int FRAMES = 2;
    private static final int WIDTH = 3;

    /** A hop whose features are all {@code value} and whose levels are {@code -value}. */
    private static int push(EmotionHistory h, long index, float value) {
        float[] frames = new float[FRAMES * WIDTH];
        java.util.Arrays.fill(frames, value);
        float[] db = new float[FRAMES];
        java.util.Arrays.fill(db, -value);
        return h.push(index, frames, db, 3);
    }

    @Test
    void keepsTheNewestThreeHopsOldestFirst() {
        EmotionHistory h = new EmotionHistory();
        assertThat(push(h, 0, 1)).isEqualTo(2);
        assertThat(push(h, 1, 2)).isEqualTo(4);
        assertThat(push(h, 2, 3)).isEqualTo(6);
        assertThat(push(h, 3, 4)).isEqualTo(6);
        assertThat(h.frames).containsExactly(2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4);
        assertThat(h.frameDb).containsExactly(-2, -2, -3, -3, -4, -4);
        assertThat(h.lastIndex).isEqualTo(3);
    }

    @Test
    void aMissingOrFailedWindowStartsTheRunAgain() {
        EmotionHistory h = new EmotionHistory();
        push(h, 0, 1);
        push(h, 1, 2);
        assertThat(push(h, 3, 4)).as("window 2 never came").isEqualTo(2);
        assertThat(h.frames).containsOnly(4f);
        push(h, 4, 5);
        h.breakAt(5); // window 5 failed
        assertThat(push(h, 6, 7)).isEqualTo(2);
        assertThat(h.frameDb).containsExactly(-7, -7);
    }
}
