package io.meritstream.cli.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.ingest.G711;
import io.meritstream.ingest.SampleDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class StreamFramerTest {
    private static final long START = 1_700_000_000_000L;

    @Test
    void cutsWholeFramesAndARemainderWithSeqTimestampsAndEndOfStreamOnTheLast() {
        // 8 kHz, 20 ms = 160 samples; 1000 samples = 6 whole frames + 40.
        float[] samples = ramp(1000);
        StreamFramer framer =
                new StreamFramer("call-9", "customer", samples, 8000, 20, AudioEncoding.PCM_S16LE, Map.of("q", "b"));

        List<AudioFrame> frames = all(framer);

        assertThat(frames).hasSize(7);
        for (int i = 0; i < frames.size(); i++) {
            AudioFrame frame = frames.get(i);
            assertThat(frame.getSeq()).isEqualTo(i);
            assertThat(frame.getSessionId()).isEqualTo("call-9");
            assertThat(frame.getChannel()).isEqualTo("customer");
            assertThat(frame.getSampleRate()).isEqualTo(8000);
            assertThat(frame.getTimestampMs()).isEqualTo(START + 20L * i);
            assertThat(frame.getEndOfStream()).isEqualTo(i == 6);
            assertThat(frame.getAttributes()).containsEntry("q", "b");
            assertThat(frame.getPayload().remaining()).isEqualTo(2 * (i < 6 ? 160 : 40));
        }
        assertThat(framer.readyAtMs(6)).isEqualTo(125.0);
    }

    @Test
    void anExactMultipleEndsOnAFullFrameAndEmptyAudioIsOneEmptyEndFrame() {
        StreamFramer exact = new StreamFramer("s", "mono", ramp(640), 16000, 20, AudioEncoding.PCM_S16LE, Map.of());
        List<AudioFrame> frames = all(exact);
        assertThat(frames).hasSize(2);
        assertThat(frames.get(1).getEndOfStream()).isTrue();
        assertThat(frames.get(1).getPayload().remaining()).isEqualTo(640);

        StreamFramer empty = new StreamFramer("s", "mono", new float[0], 16000, 20, AudioEncoding.PCM_S16LE, Map.of());
        assertThat(all(empty)).singleElement().satisfies(f -> {
            assertThat(f.getEndOfStream()).isTrue();
            assertThat(f.getPayload().remaining()).isZero();
        });
    }

    @Test
    void framesOf22050HzFollowTheSampleCount() {
        // 20 ms at 22.05 kHz is 441 samples; timestamps stay on the sample clock, not a rounded frame length.
        StreamFramer framer = new StreamFramer("s", "mono", ramp(22050), 22050, 20, AudioEncoding.PCM_S16LE, Map.of());
        assertThat(framer.samplesPerFrame()).isEqualTo(441);
        assertThat(framer.frameCount()).isEqualTo(50);
        assertThat(framer.frame(49, 0).getTimestampMs()).isEqualTo(980);
    }

    @Test
    void refusesAFrameWithoutASample() {
        assertThatThrownBy(() -> new StreamFramer("s", "m", ramp(10), 8000, 0.05, AudioEncoding.PCM_S16LE, Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds no sample");
    }

    @Test
    void pcm16RoundTripsThroughTheJobsDecoderBitForBit() {
        // Samples as read from a 16-bit file: k / 32768.
        float[] samples = new float[65536];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = (i - 32768) / 32768f;
        }
        float[] decoded = decode(AudioEncoding.PCM_S16LE, samples);
        assertThat(decoded).containsExactly(samples);
    }

    @Test
    void float32RoundTripsExactly() {
        float[] samples = noise(4000, 0.7);
        assertThat(decode(AudioEncoding.FLOAT32LE, samples)).containsExactly(samples);
    }

    @ParameterizedTest
    @EnumSource(
            value = AudioEncoding.class,
            names = {"PCM_MULAW", "PCM_ALAW"})
    void g711EncodingIsWhatTheJobsTablesDecodeWithinTheCompandingStep(AudioEncoding encoding) {
        float[] samples = noise(8000, 0.5);
        float[] decoded = decode(encoding, samples);
        for (int i = 0; i < samples.length; i++) {
            // G.711 keeps 4 mantissa bits: the error is at most about 1/32 of the magnitude plus the smallest step.
            double tolerance = Math.abs(samples[i]) / 30 + 16 / 32768.0;
            assertThat((double) decoded[i])
                    .as("sample %d", i)
                    .isCloseTo(samples[i], org.assertj.core.data.Offset.offset(tolerance));
        }
        // Every 16-bit input maps to the code the job's own encoder gives, and the job decodes that code.
        short pcm = FrameEncoder.toPcm16(samples[123]);
        byte code = encoding == AudioEncoding.PCM_MULAW ? G711.linearToUlaw(pcm) : G711.linearToAlaw(pcm);
        assertThat(FrameEncoder.encode(encoding, samples, 123, 124)).containsExactly(code);
    }

    @Test
    void clipsOutOfRangeSamples() {
        assertThat(FrameEncoder.toPcm16(1.5f)).isEqualTo(Short.MAX_VALUE);
        assertThat(FrameEncoder.toPcm16(-1.5f)).isEqualTo(Short.MIN_VALUE);
        assertThat(FrameEncoder.toPcm16(1.0f)).isEqualTo(Short.MAX_VALUE);
    }

    private static float[] decode(AudioEncoding encoding, float[] samples) {
        StreamFramer framer = new StreamFramer("s", "mono", samples, 16000, 20, encoding, Map.of());
        List<Float> out = new ArrayList<>();
        for (AudioFrame frame : all(framer)) {
            assertThat(frame.getEncoding()).isEqualTo(encoding);
            assertThat(frame.getPayload().remaining() % SampleDecoder.bytesPerSample(encoding))
                    .isZero();
            for (float v : SampleDecoder.decode(encoding, frame.getPayload())) {
                out.add(v);
            }
        }
        float[] result = new float[out.size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = out.get(i);
        }
        return result;
    }

    private static List<AudioFrame> all(StreamFramer framer) {
        List<AudioFrame> frames = new ArrayList<>();
        for (int i = 0; i < framer.frameCount(); i++) {
            frames.add(framer.frame(i, START));
        }
        return frames;
    }

    private static float[] ramp(int n) {
        float[] samples = new float[n];
        for (int i = 0; i < n; i++) {
            samples[i] = (i % 200 - 100) / 200f;
        }
        return samples;
    }

    private static float[] noise(int n, double scale) {
        Random random = new Random(3);
        float[] samples = new float[n];
        for (int i = 0; i < n; i++) {
            samples[i] = (float) Math.max(-1, Math.min(1, random.nextGaussian() * scale / 2));
        }
        return samples;
    }
}
