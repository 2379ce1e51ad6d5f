package io.meritstream.evaluation;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.session.WindowingConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The windows match what the job's SessionWindower emits for a channel of N samples followed by end of stream (see its
 * {@code append} / {@code close}): whole windows as the audio reaches their ends, then exactly one final window.
 */
class StreamWindowsTest {
    static final WindowingConfig JOB_DEFAULT = WindowingConfig.defaults(); // 3 s / 1 s, early first window

    static float[] ramp(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i + 1; // never 0, so padding is told apart from audio
        }
        return x;
    }

    @Test
    void aUtteranceShorterThanTheWindowGetsLeftPaddedWindowsAndAPartialFinalOne() {
        List<StreamWindows.Window> w = StreamWindows.cut(ramp(46_400), JOB_DEFAULT); // 2.9 s
        assertThat(w).extracting(StreamWindows.Window::start).containsExactly(-32_000L, -16_000L, 0L);
        assertThat(w).extracting(StreamWindows.Window::validSamples).containsExactly(48_000, 48_000, 46_400);
        assertThat(w).extracting(StreamWindows.Window::finalWindow).containsExactly(false, false, true);
        assertThat(w).extracting(StreamWindows.Window::index).containsExactly(0L, 1L, 2L);
        // window 0: 32000 zeros of left padding, then the first second of audio
        float[] first = w.get(0).samples();
        assertThat(first[31_999]).isZero();
        assertThat(first[32_000]).isEqualTo(1f);
        assertThat(first[47_999]).isEqualTo(16_000f);
        // the final window: audio up to the end, then zeros
        float[] last = w.get(2).samples();
        assertThat(last[0]).isEqualTo(1f);
        assertThat(last[46_399]).isEqualTo(46_400f);
        assertThat(last[46_400]).isZero();
    }

    @Test
    void audioEndingExactlyOnAWindowEndStillGetsAFinalWindow() {
        List<StreamWindows.Window> w = StreamWindows.cut(ramp(48_000), JOB_DEFAULT);
        assertThat(w).extracting(StreamWindows.Window::start).containsExactly(-32_000L, -16_000L, 0L, 16_000L);
        assertThat(w).extracting(StreamWindows.Window::validSamples).containsExactly(48_000, 48_000, 48_000, 32_000);
        assertThat(w.get(3).finalWindow()).isTrue();
        assertThat(w.get(3).samples()[31_999]).isEqualTo(48_000f);
        assertThat(w.get(3).samples()[32_000]).isZero();
    }

    @Test
    void aVeryShortUtteranceIsOneFinalWindow() {
        List<StreamWindows.Window> w = StreamWindows.cut(ramp(100), JOB_DEFAULT);
        assertThat(w).hasSize(1);
        assertThat(w.get(0).start()).isEqualTo(-32_000L);
        assertThat(w.get(0).validSamples()).isEqualTo(32_100);
        assertThat(w.get(0).samples()[32_000]).isEqualTo(1f);
        assertThat(w.get(0).samples()[32_100]).isZero();
        assertThat(StreamWindows.cut(new float[0], JOB_DEFAULT)).isEmpty();
    }

    @Test
    void withoutTheEarlyFirstWindowWindowsStartAtZero() {
        WindowingConfig late = WindowingConfig.builder()
                .window(Duration.ofSeconds(2))
                .hop(Duration.ofMillis(500))
                .earlyFirstWindow(false)
                .build();
        List<StreamWindows.Window> w = StreamWindows.cut(ramp(40_000), late); // 2.5 s
        assertThat(w).extracting(StreamWindows.Window::start).containsExactly(0L, 8_000L, 16_000L);
        assertThat(w).extracting(StreamWindows.Window::validSamples).containsExactly(32_000, 32_000, 24_000);
        assertThat(w.get(2).samples()[0]).isEqualTo(16_001f);
    }

    /** SessionWindowerTest's tiny configuration: its cases, fed frame by frame through the real operator, give these. */
    static final WindowingConfig TINY =
            WindowingConfig.builder().windowSamples(6).hopSamples(2).build();

    @Test
    void sameWindowsAsSessionWindowerTestForAPartialLastWindow() {
        // SessionWindowerTest.endOfStreamFlushesThePartialWindowAndRemovesAllState: a 13-sample stream emits windows
        // 0..5 whole and window 6 (start 8, 5 valid samples) as the final one.
        List<StreamWindows.Window> w = StreamWindows.cut(ramp(13), TINY);
        assertThat(w).hasSize(7);
        assertThat(w).extracting(StreamWindows.Window::start).containsExactly(-4L, -2L, 0L, 2L, 4L, 6L, 8L);
        StreamWindows.Window last = w.get(6);
        assertThat(last.index()).isEqualTo(6);
        assertThat(last.validSamples()).isEqualTo(5);
        assertThat(last.finalWindow()).isTrue();
        assertThat(last.samples()).containsExactly(9f, 10f, 11f, 12f, 13f, 0f);
    }

    @Test
    void sameWindowsAsSessionWindowerTestWhenTheStreamEndsOnAWindowEnd() {
        // SessionWindowerTest.endOfStreamOnAWindowBoundaryStillEndsWithOneFinalWindow: 6 samples, four windows, the
        // final one starting at 2 with window - hop valid samples.
        List<StreamWindows.Window> w = StreamWindows.cut(ramp(6), TINY);
        assertThat(w).extracting(StreamWindows.Window::finalWindow).containsExactly(false, false, false, true);
        assertThat(w.get(3).start()).isEqualTo(2L);
        assertThat(w.get(3).validSamples()).isEqualTo(4);
        assertThat(w.get(3).samples()).containsExactly(3f, 4f, 5f, 6f, 0f, 0f);
        assertThat(w.get(0).samples()).containsExactly(0f, 0f, 0f, 0f, 1f, 2f);
    }
}
