package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {
    private static final SingleObjectCodec<AudioFrame> CODEC = SingleObjectCodec.of(AudioFrame.class);
    private static final long MAX_FRAME_MS = 100;
    private static final int MAX_ORIGINAL_BYTES = 4096;
    private static final long NOW = 1_700_000_000_000L;

    private FrameDecoder decoder;
    private OneInputStreamOperatorTestHarness<IngestRecord, NativeFrame> harness;

    @BeforeEach
    void open() throws Exception {
        decoder = new FrameDecoder(MAX_FRAME_MS, MAX_ORIGINAL_BYTES);
        harness = ProcessFunctionTestHarnesses.forProcessFunction(decoder);
        harness.setProcessingTime(NOW);
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    // --- good frames ---

    @Test
    void decodesPcm16() throws Exception {
        ByteBuffer payload = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN);
        payload.putShort((short) 16384)
                .putShort((short) -32768)
                .putShort((short) 1)
                .flip();
        NativeFrame frame = decodeOne(frame("s1", "agent", 7, 16_000, AudioEncoding.PCM_S16LE, payload));
        assertThat(frame.samples).containsExactly(0.5f, -1f, 1f / 32768);
        assertThat(frame.sessionId).isEqualTo("s1");
        assertThat(frame.channel).isEqualTo("agent");
        assertThat(frame.seq).isEqualTo(7);
        assertThat(frame.sampleRate).isEqualTo(16_000);
        assertThat(frame.timestampMs).isEqualTo(1_000);
        assertThat(frame.arrivalMs).isEqualTo(42);
        assertThat(decoder.decodedCounter().getCount()).isEqualTo(1);
    }

    @Test
    void decodesMuLawAndALaw() throws Exception {
        byte[] codes = {(byte) 0x80, (byte) 0xFF, (byte) 0x00};
        assertThat(decodeOne(frame("s", "c", 0, 8_000, AudioEncoding.PCM_MULAW, ByteBuffer.wrap(codes))).samples)
                .containsExactly(32124 / 32768f, 0f, -32124 / 32768f);
        byte[] aLaw = {(byte) 0xAA, (byte) 0xD5, (byte) 0x2A};
        harness.getOutput().clear();
        assertThat(decodeOne(frame("s", "c", 1, 8_000, AudioEncoding.PCM_ALAW, ByteBuffer.wrap(aLaw))).samples)
                .containsExactly(32256 / 32768f, 8 / 32768f, -32256 / 32768f);
    }

    @Test
    void decodesFloat32() throws Exception {
        NativeFrame frame = decodeOne(frame("s", "c", 0, 48_000, AudioEncoding.FLOAT32LE, floats(0.25f, -0.75f)));
        assertThat(frame.samples).containsExactly(0.25f, -0.75f);
    }

    @Test
    void frameOfExactlyTheLimitIsAccepted() throws Exception {
        // 100 ms at 16 kHz = 1600 samples.
        decodeOne(frame("s", "c", 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(3200)));
    }

    @Test
    void emptyEndOfStreamFrameIsAccepted() throws Exception {
        AudioFrame eos = frame("s", "c", 9, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(0));
        eos.setEndOfStream(true);
        NativeFrame frame = decodeOne(eos);
        assertThat(frame.endOfStream).isTrue();
        assertThat(frame.samples).isEmpty();
    }

    // --- one test per dead-letter reason ---

    @Test
    void garbageIsUndecodable() throws Exception {
        byte[] garbage = "not avro at all".getBytes(StandardCharsets.UTF_8);
        DeadLetter letter = rejectRaw(garbage, DeadLetterReason.UNDECODABLE);
        assertThat(letter.getMessage().toString()).contains("not an Avro single-object message");
    }

    @Test
    void truncatedAvroBodyIsUndecodable() throws Exception {
        byte[] good = CODEC.encode(frame("s", "c", 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(64)));
        byte[] cut = java.util.Arrays.copyOf(good, 20);
        DeadLetter letter = rejectRaw(cut, DeadLetterReason.UNDECODABLE);
        assertThat(letter.getMessage().toString()).contains("corrupt AudioFrame body");
    }

    @Test
    void tombstoneIsUndecodable() throws Exception {
        harness.processElement(new IngestRecord("audio-frames", 0, 1, null, null, 0, 0), 0);
        DeadLetter letter = onlyDeadLetter(DeadLetterReason.UNDECODABLE);
        assertThat(letter.getMessage().toString()).contains("tombstone");
        assertThat(letter.getOriginalSize()).isZero();
    }

    @Test
    void emptySessionId() throws Exception {
        reject(
                        frame("", "c", 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)),
                        DeadLetterReason.EMPTY_SESSION_ID)
                .satisfies(l -> assertThat(l.getMessage().toString()).contains("sessionId"));
    }

    private static final String ID_AT_BOUND = "é".repeat(FrameDecoder.DEFAULT_MAX_ID_BYTES / 2); // 2 bytes each

    @Test
    void anIdAtTheBoundIsAccepted() throws Exception {
        assertThat(decodeOne(frame(ID_AT_BOUND, "c", 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)))
                        .sessionId)
                .isEqualTo(ID_AT_BOUND);
    }

    @Test
    void aSessionIdOneByteOverTheBoundIsTooLong() throws Exception {
        reject(
                        frame(ID_AT_BOUND + "x", "c", 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)),
                        DeadLetterReason.ID_TOO_LONG)
                .satisfies(l -> assertThat(l.getMessage().toString())
                        .contains("sessionId is 257 bytes; at most 256")
                        .contains("ingest.max-id-bytes"));
    }

    @Test
    void aChannelOverTheBoundIsTooLong() throws Exception {
        reject(
                        frame("s", "c".repeat(300), 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)),
                        DeadLetterReason.ID_TOO_LONG)
                .satisfies(l -> assertThat(l.getMessage().toString()).contains("channel is 300 bytes"));
    }

    @Test
    void negativeSeq() throws Exception {
        reject(
                        frame("s", "c", -3, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)),
                        DeadLetterReason.NEGATIVE_SEQ)
                .satisfies(l -> assertThat(l.getMessage().toString()).contains("seq is -3"));
    }

    @Test
    void seqBeyondTwoToThe53IsTooLarge() throws Exception {
        reject(
                        frame("s", "c", Long.MAX_VALUE, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)),
                        DeadLetterReason.SEQ_TOO_LARGE)
                .satisfies(l -> assertThat(l.getMessage().toString()).contains("seq is " + Long.MAX_VALUE));
        reject(
                frame("s", "c", FrameDecoder.MAX_SEQ + 1, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)),
                DeadLetterReason.SEQ_TOO_LARGE);
    }

    @Test
    void unknownEncodingIsUnsupported() throws Exception {
        reject(
                        frame("s", "c", 0, 16_000, AudioEncoding.UNKNOWN, ByteBuffer.allocate(2)),
                        DeadLetterReason.UNSUPPORTED_ENCODING)
                .satisfies(l -> assertThat(l.getMessage().toString())
                        .contains("encoding UNKNOWN")
                        .contains("PCM_S16LE, PCM_MULAW, PCM_ALAW, FLOAT32LE"));
    }

    @Test
    void unsupportedSampleRate() throws Exception {
        reject(
                        frame("s", "c", 0, 11_025, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(2)),
                        DeadLetterReason.UNSUPPORTED_SAMPLE_RATE)
                .satisfies(l -> assertThat(l.getMessage().toString())
                        .contains("11025")
                        .contains("8000, 16000, 22050, 44100, 48000"));
    }

    @Test
    void payloadNotWholeSamples() throws Exception {
        reject(
                        frame("s", "c", 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(3)),
                        DeadLetterReason.PAYLOAD_NOT_WHOLE_SAMPLES)
                .satisfies(l -> assertThat(l.getMessage().toString())
                        .contains("3 bytes")
                        .contains("2-byte"));
        reject(
                frame("s", "c", 0, 16_000, AudioEncoding.FLOAT32LE, ByteBuffer.allocate(6)),
                DeadLetterReason.PAYLOAD_NOT_WHOLE_SAMPLES);
    }

    @Test
    void frameTooLong() throws Exception {
        // 1601 samples at 16 kHz is 100.06 ms, just over the 100 ms limit.
        reject(
                        frame("s", "c", 0, 16_000, AudioEncoding.PCM_S16LE, ByteBuffer.allocate(3202)),
                        DeadLetterReason.FRAME_TOO_LONG)
                .satisfies(l -> assertThat(l.getMessage().toString())
                        .contains("1601 samples")
                        .contains("ingest.max-frame-ms"));
    }

    @Test
    void nanAndInfinityAreNonFinite() throws Exception {
        reject(
                        frame("s", "c", 0, 16_000, AudioEncoding.FLOAT32LE, floats(0f, Float.NaN)),
                        DeadLetterReason.NON_FINITE_SAMPLES)
                .satisfies(l -> assertThat(l.getMessage().toString()).contains("sample 1 of 2 is NaN"));
        reject(
                frame("s", "c", 0, 16_000, AudioEncoding.FLOAT32LE, floats(Float.NEGATIVE_INFINITY)),
                DeadLetterReason.NON_FINITE_SAMPLES);
    }

    @Test
    void finiteButAbsurdFloatSamplesAreOutOfRange() throws Exception {
        // 1e30 is finite; scaled by the model's input normalisation it overflows, and it is no audio anyone recorded.
        reject(
                        frame("s", "c", 0, 16_000, AudioEncoding.FLOAT32LE, floats(0.5f, -1e30f)),
                        DeadLetterReason.SAMPLE_OUT_OF_RANGE)
                .satisfies(l -> assertThat(l.getMessage().toString())
                        .contains("sample 1 of 2 is -1.0E30")
                        .contains("16"));
        reject(
                frame("s", "c", 0, 16_000, AudioEncoding.FLOAT32LE, floats(SampleDecoder.MAX_FLOAT_MAGNITUDE * 1.01f)),
                DeadLetterReason.SAMPLE_OUT_OF_RANGE);
    }

    @Test
    void floatSamplesAboveFullScaleWithinTheHeadroomPass() throws Exception {
        NativeFrame frame = decodeOne(
                frame("s", "c", 0, 16_000, AudioEncoding.FLOAT32LE, floats(1.5f, -SampleDecoder.MAX_FLOAT_MAGNITUDE)));
        assertThat(frame.samples).containsExactly(1.5f, -SampleDecoder.MAX_FLOAT_MAGNITUDE);
    }

    @Test
    void originalBytesAreCutToTheBound() throws Exception {
        decoder = new FrameDecoder(MAX_FRAME_MS, 16);
        harness.close();
        harness = ProcessFunctionTestHarnesses.forProcessFunction(decoder);
        byte[] big = new byte[1000];
        harness.processElement(record(big), 0);
        DeadLetter letter = onlyDeadLetter(DeadLetterReason.UNDECODABLE);
        assertThat(letter.getOriginal().remaining()).isEqualTo(16);
        assertThat(letter.getOriginalSize()).isEqualTo(1000);
    }

    // --- helpers ---

    private NativeFrame decodeOne(AudioFrame frame) throws Exception {
        harness.processElement(record(CODEC.encode(frame)), 0);
        List<NativeFrame> out = harness.extractOutputValues();
        assertThat(harness.getSideOutput(FrameDecoder.DEAD_LETTERS)).isNullOrEmpty();
        assertThat(out).hasSize(1);
        return out.get(0);
    }

    private org.assertj.core.api.ObjectAssert<DeadLetter> reject(AudioFrame frame, DeadLetterReason reason)
            throws Exception {
        return new org.assertj.core.api.ObjectAssert<>(rejectRaw(CODEC.encode(frame), reason));
    }

    /** Feeds {@code bytes}, expects no frame and one new dead letter with the reason, coordinates and bytes. */
    private DeadLetter rejectRaw(byte[] bytes, DeadLetterReason reason) throws Exception {
        int before = deadLetters().size();
        harness.processElement(record(bytes), 0);
        assertThat(harness.extractOutputValues()).isEmpty();
        List<DeadLetter> letters = deadLetters();
        assertThat(letters).hasSize(before + 1);
        DeadLetter letter = letters.get(letters.size() - 1);
        assertThat(letter.getReason()).isEqualTo(reason);
        assertThat(letter.getSourceTopic().toString()).isEqualTo("audio-frames");
        assertThat(letter.getPartition()).isEqualTo(3);
        assertThat(letter.getOffset()).isEqualTo(17);
        assertThat(letter.getKey()).isEqualTo(ByteBuffer.wrap("key-1".getBytes(StandardCharsets.UTF_8)));
        assertThat(letter.getOriginal()).isEqualTo(ByteBuffer.wrap(bytes));
        assertThat(letter.getOriginalSize()).isEqualTo(bytes.length);
        assertThat(letter.getTimeMs()).isEqualTo(NOW);
        assertThat(letter.getMessage().toString()).isNotBlank();
        assertCountedOnlyAs(reason, before + 1);
        return letter;
    }

    private DeadLetter onlyDeadLetter(DeadLetterReason reason) {
        assertThat(harness.extractOutputValues()).isEmpty();
        List<DeadLetter> letters = deadLetters();
        assertThat(letters).hasSize(1);
        assertThat(letters.get(0).getReason()).isEqualTo(reason);
        assertCountedOnlyAs(reason, 1);
        return letters.get(0);
    }

    private void assertCountedOnlyAs(DeadLetterReason reason, long count) {
        for (DeadLetterReason r : DeadLetterReason.values()) {
            assertThat(decoder.deadLetterCounter(r).getCount())
                    .as("dead letters counted as %s", r)
                    .isEqualTo(r == reason ? count : 0);
        }
        assertThat(decoder.decodedCounter().getCount()).isZero();
    }

    private List<DeadLetter> deadLetters() {
        var queue = harness.getSideOutput(FrameDecoder.DEAD_LETTERS);
        return queue == null
                ? List.of()
                : queue.stream().map(StreamRecord::getValue).toList();
    }

    private static IngestRecord record(byte[] value) {
        return new IngestRecord("audio-frames", 3, 17, "key-1".getBytes(StandardCharsets.UTF_8), value, 5, 42);
    }

    static AudioFrame frame(
            String session, String channel, long seq, int rate, AudioEncoding encoding, ByteBuffer payload) {
        return AudioFrame.newBuilder()
                .setSessionId(session)
                .setChannel(channel)
                .setSeq(seq)
                .setTimestampMs(1_000)
                .setSampleRate(rate)
                .setEncoding(encoding)
                .setPayload(payload)
                .setEndOfStream(false)
                .setAttributes(Map.of())
                .build();
    }

    private static ByteBuffer floats(float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buffer.putFloat(v);
        }
        return buffer.flip();
    }
}
