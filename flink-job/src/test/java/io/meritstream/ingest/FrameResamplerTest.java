package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FrameResamplerTest {
    private static final int FRAME_48K = 960; // 20 ms
    private static final int FRAME_16K = 320;

    private FrameResampler resampler;
    private KeyedOneInputStreamOperatorTestHarness<String, NativeFrame, DecodedFrame> harness;

    @BeforeEach
    void open() throws Exception {
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(resampler = new FrameResampler(Duration.ofSeconds(2))),
                NativeFrame::streamKey,
                Types.STRING);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    @Test
    void sixteenKilohertzPassesThroughWithoutState() throws Exception {
        float[] samples = ResamplerTest.tone(16_000, 1000, 0.5, FRAME_16K);
        harness.processElement(frame("a", 0, 16_000, samples, false), 0);
        assertThat(output()).singleElement().satisfies(f -> {
            assertThat(f.samples).containsExactly(samples);
            assertThat(f.seq).isZero();
        });
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void frameWaitsForLookAheadThenEndOfStreamFlushesAndLeavesNothing() throws Exception {
        float[] tone = ResamplerTest.tone(48_000, 1000, 0.5, 3 * FRAME_48K);
        harness.processElement(frame("a", 0, 48_000, slice(tone, 0), false), 0);
        assertThat(output()).as("frame 0 needs samples of frame 1").isEmpty();
        assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);

        harness.processElement(frame("a", 1, 48_000, slice(tone, 1), false), 0);
        assertThat(output()).extracting(f -> f.seq).containsExactly(0L);

        harness.processElement(frame("a", 2, 48_000, slice(tone, 2), true), 0);
        List<DecodedFrame> out = output();
        assertThat(out).extracting(f -> f.seq).containsExactly(0L, 1L, 2L);
        assertThat(out).extracting(f -> f.samples.length).containsExactly(FRAME_16K, FRAME_16K, FRAME_16K);
        assertThat(out).extracting(f -> f.endOfStream).containsExactly(false, false, true);
        assertThat(ResamplerTest.concat(out)).containsExactly(ResamplerTest.resampleWhole(tone, 48_000));

        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void theGuardsIdleEndFlushesTheSegmentAndPassesOn() throws Exception {
        float[] tone = ResamplerTest.tone(48_000, 1000, 0.5, 2 * FRAME_48K);
        harness.processElement(frame("a", 0, 48_000, slice(tone, 0), false), 0);
        harness.processElement(frame("a", 1, 48_000, slice(tone, 1), false), 0);
        NativeFrame end = frame("a", 2, 48_000, new float[0], true);
        end.idleEnd = true;
        harness.processElement(end, 0);

        List<DecodedFrame> out = output();
        assertThat(out).extracting(f -> f.seq).containsExactly(0L, 1L, 2L);
        assertThat(out).extracting(f -> f.idleEnd).containsExactly(false, false, true);
        assertThat(out.get(2).endOfStream).isTrue();
        assertThat(out.get(2).samples).isEmpty();
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void idleStreamIsFlushedAfterTheTimeout() throws Exception {
        harness.setProcessingTime(1_000);
        harness.processElement(frame("a", 0, 8_000, new float[160], false), 0);
        harness.setProcessingTime(2_500); // a frame 1.5 s after the first moves the flush on lazily
        harness.processElement(frame("a", 1, 8_000, new float[160], false), 0);
        harness.setProcessingTime(3_000);
        assertThat(output()).extracting(f -> f.seq).containsExactly(0L);

        harness.setProcessingTime(4_500);
        assertThat(output()).extracting(f -> f.seq).containsExactly(0L, 1L);
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void gapFlushesTheSegmentAndStartsAnother() throws Exception {
        float[] tone = ResamplerTest.tone(48_000, 1000, 0.5, 4 * FRAME_48K);
        harness.processElement(frame("a", 0, 48_000, slice(tone, 0), false), 0);
        harness.processElement(frame("a", 1, 48_000, slice(tone, 1), false), 0);
        harness.processElement(frame("a", 3, 48_000, slice(tone, 3), true), 0);
        List<DecodedFrame> out = output();
        assertThat(out).extracting(f -> f.seq).containsExactly(0L, 1L, 3L);
        // Nothing is lost or duplicated: each frame still gets exactly its own 20 ms.
        assertThat(out).extracting(f -> f.samples.length).containsOnly(FRAME_16K);
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(resampler.discontinuitiesCounter().getCount()).isEqualTo(1);
    }

    @Test
    void lateFrameIsResampledAloneAndTheSegmentGoesOn() throws Exception {
        float[] tone = ResamplerTest.tone(48_000, 1000, 0.5, 4 * FRAME_48K);
        harness.processElement(frame("a", 0, 48_000, slice(tone, 0), false), 0);
        harness.processElement(frame("a", 2, 48_000, slice(tone, 2), false), 0); // gap: 0 flushed, new segment at 2
        harness.processElement(frame("a", 1, 48_000, slice(tone, 1), false), 0); // late
        harness.processElement(frame("a", 3, 48_000, slice(tone, 3), true), 0);
        assertThat(output()).extracting(f -> f.seq).containsExactly(0L, 1L, 2L, 3L);
        assertThat(resampler.discontinuitiesCounter().getCount()).isEqualTo(2); // the gap and the late frame
    }

    @Test
    void streamsAreIndependent() throws Exception {
        float[] tone = ResamplerTest.tone(48_000, 1000, 0.5, 2 * FRAME_48K);
        harness.processElement(frame("a", 0, 48_000, slice(tone, 0), false), 0);
        harness.processElement(frame("b", 0, 48_000, slice(tone, 0), false), 0);
        harness.processElement(frame("a", 1, 48_000, slice(tone, 1), true), 0);
        assertThat(output())
                .extracting(DecodedFrame::streamKey)
                .containsExactly(StreamKey.of("a", "mono"), StreamKey.of("a", "mono"));
        assertThat(resampler.discontinuitiesCounter().getCount()).isZero();
        assertThat(harness.numKeyedStateEntries()).isEqualTo(1); // b's segment still waits
    }

    @Test
    void rateChangeFlushesTheOldSegment() throws Exception {
        harness.processElement(frame("a", 0, 8_000, new float[160], false), 0);
        harness.processElement(frame("a", 1, 16_000, new float[320], false), 0);
        assertThat(output()).extracting(f -> f.seq).containsExactly(0L, 1L);
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    private List<DecodedFrame> output() {
        return harness.extractOutputValues();
    }

    private static float[] slice(float[] tone, int frame) {
        return java.util.Arrays.copyOfRange(tone, frame * FRAME_48K, (frame + 1) * FRAME_48K);
    }

    private static NativeFrame frame(String session, long seq, int rate, float[] samples, boolean endOfStream) {
        return new NativeFrame(session, "mono", seq, 1_000 + seq * 20, rate, samples, endOfStream, 5);
    }
}
