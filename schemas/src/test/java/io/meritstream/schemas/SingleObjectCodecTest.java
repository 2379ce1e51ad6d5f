package io.meritstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.meritstream.avro.AlertEvidence;
import io.meritstream.avro.AlertKind;
import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.SessionSummary;
import io.meritstream.avro.TrendKind;
import io.meritstream.avro.WindowFlag;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SingleObjectCodecTest {

    static Stream<SpecificRecord> oneOfEachRecord() {
        EmotionProbabilities probs = new EmotionProbabilities(0.6f, 0.2f, 0.1f, 0.1f);
        return Stream.of(
                AudioFrame.newBuilder()
                        .setSessionId("call-1")
                        .setChannel("customer")
                        .setSeq(7)
                        .setTimestampMs(1_700_000_000_000L)
                        .setSampleRate(8000)
                        .setEncoding(AudioEncoding.PCM_MULAW)
                        .setPayload(ByteBuffer.wrap(new byte[] {1, 2, 3, (byte) 0xff}))
                        .setAttributes(Map.of("queue", "billing"))
                        .build(),
                EnhancedAudioChunk.newBuilder()
                        .setSessionId("call-1")
                        .setChannel("agent")
                        .setSeq(3)
                        .setStartSample(48_000)
                        .setPayload(ByteBuffer.wrap(new byte[] {0, 1, 0, 2}))
                        .setModelVersion("merit-sparse/1.0.0")
                        .build(),
                EmotionEvent.newBuilder()
                        .setSessionId("call-1")
                        .setChannel("customer")
                        .setWindowIndex(4)
                        .setWindowStartMs(2000)
                        .setWindowEndMs(5000)
                        .setWindowStartSample(32_000)
                        .setWindowEndSample(80_000)
                        .setProbabilities(probs)
                        .setLabel(Emotion.ANGRY)
                        .setConfidence(0.6f)
                        .setSpeechRatio(0.8f)
                        .setRoutingSe(List.of(100, 30, 20))
                        .setRoutingSer(List.of(0, 150, 0))
                        .setFlags(List.of(WindowFlag.GAP_FILLED))
                        .setModelVersion("merit-sparse/1.0.0")
                        .setLatencyMs(120)
                        .build(),
                EmotionTrend.newBuilder()
                        .setSessionId("call-1")
                        .setChannel("customer")
                        .setKind(TrendKind.SESSION_SUMMARY)
                        .setWindowIndex(30)
                        .setTimeMs(32_000)
                        .setSmoothed(probs)
                        .setNegativity(0.7f)
                        .setSlope(-0.01f)
                        .setSummary(new SessionSummary(32_000L, 20_000L, Emotion.NEUTRAL, probs, 0.81f, 15_000L, 1))
                        .build(),
                EmotionAlert.newBuilder()
                        .setSessionId("call-1")
                        .setChannel("customer")
                        .setKind(AlertKind.NEGATIVE_SPIKE_START)
                        .setTimeMs(12_000)
                        .setWindowIndex(10)
                        .setScore(0.72f)
                        .setEnterThreshold(0.6f)
                        .setExitThreshold(0.4f)
                        .setConsecutiveHops(3)
                        .setEvidence(new AlertEvidence(Emotion.ANGRY, probs, 0.72f, 9_000L))
                        .build(),
                DeadLetter.newBuilder()
                        .setSourceTopic("audio-frames")
                        .setPartition(2)
                        .setOffset(99)
                        .setKey(ByteBuffer.wrap("call-1".getBytes()))
                        .setReason(DeadLetterReason.NEGATIVE_SEQ)
                        .setMessage("seq -1 < 0")
                        .setOriginal(ByteBuffer.wrap(new byte[] {9, 9}))
                        .setOriginalSize(2)
                        .setTimeMs(1_700_000_000_000L)
                        .build());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    @ParameterizedTest
    @MethodSource("oneOfEachRecord")
    void everyRecordRoundTripsWithSingleObjectHeader(SpecificRecord record) {
        SingleObjectCodec codec = SingleObjectCodec.of(record.getClass());
        byte[] bytes = codec.encode(record);

        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        assertThat(java.util.HexFormat.of().formatHex(bytes, 2, 10)).isEqualTo(codec.fingerprintHex());
        assertThat(codec.decode(bytes)).isEqualTo(record);
    }

    @Test
    void defaultsFillOptionalFields() {
        AudioFrame frame = AudioFrame.newBuilder()
                .setSessionId("s")
                .setChannel("mono")
                .setSeq(0)
                .setTimestampMs(0)
                .setSampleRate(16000)
                .setEncoding(AudioEncoding.PCM_S16LE)
                .setPayload(ByteBuffer.allocate(0))
                .build();
        assertThat(frame.getEndOfStream()).isFalse();
        assertThat(frame.getAttributes()).isEmpty();
    }

    @Test
    void bytesOfAnotherRecordTypeNameTheUnknownFingerprint() {
        byte[] chunk = SingleObjectCodec.of(EnhancedAudioChunk.class).encode((EnhancedAudioChunk)
                oneOfEachRecord().skip(1).findFirst().orElseThrow());
        SingleObjectCodec<AudioFrame> frames = SingleObjectCodec.of(AudioFrame.class);

        assertThatThrownBy(() -> frames.decode(chunk))
                .isInstanceOf(SchemaDecodingException.class)
                .hasMessageContaining("unknown writer schema fingerprint "
                        + SingleObjectCodec.of(EnhancedAudioChunk.class).fingerprintHex())
                .hasMessageContaining("AudioFrame")
                .hasMessageContaining(frames.fingerprintHex());
    }

    @Test
    void plainBytesAreRejectedAsNotSingleObject() {
        SingleObjectCodec<AudioFrame> frames = SingleObjectCodec.of(AudioFrame.class);
        assertThatThrownBy(() -> frames.decode("hello world".getBytes()))
                .isInstanceOf(SchemaDecodingException.class)
                .hasMessageContaining("not an Avro single-object message for AudioFrame")
                .hasMessageContaining("68656c6c6f20776f");
        assertThatThrownBy(() -> frames.decode(new byte[] {(byte) 0xC3, 1}))
                .isInstanceOf(SchemaDecodingException.class)
                .hasMessageContaining("2 bytes");
    }

    @Test
    void truncatedBodyIsReportedAsCorrupt() {
        AudioFrame frame = (AudioFrame) oneOfEachRecord().findFirst().orElseThrow();
        SingleObjectCodec<AudioFrame> frames = SingleObjectCodec.of(AudioFrame.class);
        byte[] bytes = frames.encode(frame);
        byte[] truncated = Arrays.copyOf(bytes, 14);

        assertThatThrownBy(() -> frames.decode(truncated))
                .isInstanceOf(SchemaDecodingException.class)
                .hasMessageContaining("corrupt AudioFrame body (14 bytes)");
    }

    @Test
    void aDeclaredStringLongerThanTheRecordIsRejectedBeforeItIsAllocated() {
        SingleObjectCodec<AudioFrame> frames = SingleObjectCodec.of(AudioFrame.class);
        byte[] header = Arrays.copyOf(
                frames.encode((AudioFrame) oneOfEachRecord().findFirst().orElseThrow()), 10);
        // sessionId claims 2^30 bytes (zig-zag varint 80 80 80 80 08): 15 bytes in all. Avro alone allocates 1 GiB
        // first and throws OutOfMemoryError, which would crash-loop the job on this offset.
        byte[] hostile = concat(header, new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08});

        assertThatThrownBy(() -> frames.decode(hostile))
                .isInstanceOf(SchemaDecodingException.class)
                .hasMessageContaining("declared string length 1073741824 does not fit in the 5-byte body");
    }

    @Test
    void aDeclaredMapLargerThanTheRecordIsRejected() {
        SingleObjectCodec<AudioFrame> frames = SingleObjectCodec.of(AudioFrame.class);
        AudioFrame frame = (AudioFrame) oneOfEachRecord().findFirst().orElseThrow();
        frame.setAttributes(java.util.Map.of());
        byte[] bytes = frames.encode(frame);
        assertThat(bytes[bytes.length - 1])
                .as("the empty attributes map is the last byte")
                .isEqualTo((byte) 0);
        // 2^28 map entries (zig-zag varint 80 80 80 80 02) where the map was empty
        byte[] hostile = concat(
                Arrays.copyOf(bytes, bytes.length - 1),
                new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x02});

        assertThatThrownBy(() -> frames.decode(hostile))
                .isInstanceOf(SchemaDecodingException.class)
                .hasMessageContaining("declared map block of 268435456 items does not fit");
        assertThat(frames.decode(bytes)).isEqualTo(frame);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
