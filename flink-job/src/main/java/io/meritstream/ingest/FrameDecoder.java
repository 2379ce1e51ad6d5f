package io.meritstream.ingest;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.metrics.MetricNames;
import io.meritstream.schemas.SchemaDecodingException;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and validates every input record: a good one becomes a {@link NativeFrame} (float samples at its own rate), a
 * bad one a {@link DeadLetter} on the side output {@link #DEAD_LETTERS} with its reason, the exact original bytes (cut
 * to {@code maxOriginalBytes}) and a per-reason counter. Never throws on user data. Not keyed: it runs chained to the
 * source, one instance per partition reader.
 */
public class FrameDecoder extends ProcessFunction<IngestRecord, NativeFrame> {
    private static final long serialVersionUID = 1L;

    /** Rejected input records, for the dead-letter topic. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("dead-letters", new AvroTypeInfo<>(DeadLetter.class));

    /** Input sample rates the job accepts; everything is resampled to {@link DecodedFrame#SAMPLE_RATE}. */
    public static final int[] SUPPORTED_SAMPLE_RATES = {8_000, 16_000, 22_050, 44_100, 48_000};

    /**
     * The largest seq taken: 2^53 - 1, exact in a double (a JSON or JavaScript consumer of the outputs reads it
     * unchanged) and 142,000 years of 20 ms frames. Far below {@code Long.MAX_VALUE}, so that the later stages' {@code
     * seq + 1} and seq differences cannot overflow.
     */
    public static final long MAX_SEQ = (1L << 53) - 1;

    private final long maxFrameMs;
    private final int maxOriginalBytes;
    private final int maxIdBytes;
    /** The default of {@code ingest.max-id-bytes}. */
    public static final int DEFAULT_MAX_ID_BYTES = 256;

    private transient SingleObjectCodec<AudioFrame> codec;
    private transient Counter decoded;
    private transient Map<DeadLetterReason, Counter> deadLetters;

    /**
     * @param maxFrameMs longest accepted frame duration in milliseconds; longer frames are {@code FRAME_TOO_LONG}
     * @param maxOriginalBytes how many bytes of a rejected record's value the dead letter keeps
     */
    public FrameDecoder(long maxFrameMs, int maxOriginalBytes) {
        this(maxFrameMs, maxOriginalBytes, DEFAULT_MAX_ID_BYTES);
    }

    /** @param maxIdBytes longest accepted sessionId, channel and key in UTF-8 bytes; longer ones are {@code ID_TOO_LONG} */
    public FrameDecoder(long maxFrameMs, int maxOriginalBytes, int maxIdBytes) {
        if (maxIdBytes < 1) {
            throw new IllegalArgumentException("maxIdBytes must be positive, got " + maxIdBytes);
        }
        this.maxIdBytes = maxIdBytes;
        if (maxFrameMs <= 0) {
            throw new IllegalArgumentException("maxFrameMs must be positive, got " + maxFrameMs);
        }
        if (maxOriginalBytes < 0) {
            throw new IllegalArgumentException("maxOriginalBytes must not be negative, got " + maxOriginalBytes);
        }
        this.maxFrameMs = maxFrameMs;
        this.maxOriginalBytes = maxOriginalBytes;
    }

    @Override
    public void open(OpenContext openContext) {
        codec = SingleObjectCodec.of(AudioFrame.class);
        MetricGroup metrics = getRuntimeContext().getMetricGroup();
        decoded = metrics.counter(MetricNames.FRAMES_DECODED);
        deadLetters = new EnumMap<>(DeadLetterReason.class);
        for (DeadLetterReason reason : DeadLetterReason.values()) {
            deadLetters.put(
                    reason,
                    metrics.addGroup(MetricNames.DEAD_LETTER_REASON_GROUP, reason.name())
                            .counter(MetricNames.DEAD_LETTERS));
        }
    }

    @Override
    public void processElement(IngestRecord record, Context ctx, Collector<NativeFrame> out) {
        long now = ctx.timerService().currentProcessingTime();
        if (record.value == null) {
            reject(record, DeadLetterReason.UNDECODABLE, "record has no value (a tombstone)", now, ctx);
            return;
        }
        AudioFrame frame;
        try {
            frame = codec.decode(record.value);
        } catch (SchemaDecodingException e) {
            reject(record, DeadLetterReason.UNDECODABLE, e.getMessage(), now, ctx);
            return;
        }

        String sessionId = frame.getSessionId().toString();
        if (sessionId.isBlank()) {
            reject(record, DeadLetterReason.EMPTY_SESSION_ID, "sessionId is empty or blank", now, ctx);
            return;
        }
        String tooLong = tooLongId(record, sessionId, frame.getChannel().toString());
        if (tooLong != null) {
            reject(record, DeadLetterReason.ID_TOO_LONG, tooLong, now, ctx);
            return;
        }
        if (frame.getSeq() < 0) {
            reject(
                    record,
                    DeadLetterReason.NEGATIVE_SEQ,
                    "seq is " + frame.getSeq() + "; it must be 0 or more",
                    now,
                    ctx);
            return;
        }
        if (frame.getSeq() > MAX_SEQ) {
            reject(
                    record,
                    DeadLetterReason.SEQ_TOO_LARGE,
                    "seq is " + frame.getSeq() + "; it must be at most 2^53 - 1 (" + MAX_SEQ + ")",
                    now,
                    ctx);
            return;
        }
        AudioEncoding encoding = frame.getEncoding();
        int width = SampleDecoder.bytesPerSample(encoding);
        if (width == 0) {
            reject(
                    record,
                    DeadLetterReason.UNSUPPORTED_ENCODING,
                    "encoding " + encoding + " is not supported (a format of a newer writer reads as UNKNOWN); "
                            + "supported: PCM_S16LE, PCM_MULAW, PCM_ALAW, FLOAT32LE",
                    now,
                    ctx);
            return;
        }
        int sampleRate = frame.getSampleRate();
        if (Arrays.stream(SUPPORTED_SAMPLE_RATES).noneMatch(rate -> rate == sampleRate)) {
            reject(
                    record,
                    DeadLetterReason.UNSUPPORTED_SAMPLE_RATE,
                    "sampleRate " + sampleRate + " Hz is not supported; supported: " + supportedRates(),
                    now,
                    ctx);
            return;
        }
        ByteBuffer payload = frame.getPayload();
        int bytes = payload.remaining();
        if (bytes % width != 0) {
            reject(
                    record,
                    DeadLetterReason.PAYLOAD_NOT_WHOLE_SAMPLES,
                    "payload of " + bytes + " bytes is not a whole number of " + width + "-byte " + encoding
                            + " samples",
                    now,
                    ctx);
            return;
        }
        long sampleCount = bytes / width;
        // Compare in integers: samples * 1000 > maxFrameMs * rate, exact for any size.
        if (sampleCount * 1000 > maxFrameMs * sampleRate) {
            reject(
                    record,
                    DeadLetterReason.FRAME_TOO_LONG,
                    String.format(
                            "frame of %d samples at %d Hz lasts %.1f ms, longer than the limit of %d ms"
                                    + " (ingest.max-frame-ms)",
                            sampleCount, sampleRate, sampleCount * 1000.0 / sampleRate, maxFrameMs),
                    now,
                    ctx);
            return;
        }
        float[] samples = SampleDecoder.decode(encoding, payload);
        int bad = SampleDecoder.firstNonFinite(samples);
        if (bad >= 0) {
            reject(
                    record,
                    DeadLetterReason.NON_FINITE_SAMPLES,
                    "sample " + bad + " of " + samples.length + " is " + samples[bad] + "; audio must be finite",
                    now,
                    ctx);
            return;
        }
        int huge = SampleDecoder.firstOutOfRange(samples);
        if (huge >= 0) {
            reject(
                    record,
                    DeadLetterReason.SAMPLE_OUT_OF_RANGE,
                    "sample " + huge + " of " + samples.length + " is " + samples[huge] + "; float samples must lie"
                            + " within ±" + (int) SampleDecoder.MAX_FLOAT_MAGNITUDE + " (full scale is 1)",
                    now,
                    ctx);
            return;
        }
        decoded.inc();
        out.collect(new NativeFrame(
                        sessionId,
                        frame.getChannel().toString(),
                        frame.getSeq(),
                        frame.getTimestampMs(),
                        sampleRate,
                        samples,
                        frame.getEndOfStream(),
                        record.arrivalMs)
                .from(record));
    }

    /** The counter of dead letters for {@code reason}; for tests. */
    /** Which id is longer than {@code maxIdBytes}, as a message, or null when none is. */
    private String tooLongId(IngestRecord record, String sessionId, String channel) {
        String[] names = {"sessionId", "channel", "key"};
        int[] bytes = {
            sessionId.getBytes(StandardCharsets.UTF_8).length,
            channel.getBytes(StandardCharsets.UTF_8).length,
            record.key == null ? 0 : record.key.length
        };
        for (int i = 0; i < names.length; i++) {
            if (bytes[i] > maxIdBytes) {
                return names[i] + " is " + bytes[i] + " bytes; at most " + maxIdBytes
                        + " are accepted (option 'ingest.max-id-bytes')";
            }
        }
        return null;
    }

    Counter deadLetterCounter(DeadLetterReason reason) {
        return deadLetters.get(reason);
    }

    Counter decodedCounter() {
        return decoded;
    }

    private void reject(IngestRecord record, DeadLetterReason reason, String message, long now, Context ctx) {
        deadLetters.get(reason).inc();
        ctx.output(DEAD_LETTERS, deadLetter(record, reason, message, maxOriginalBytes, now));
    }

    /** A dead letter for {@code record}, keeping at most {@code maxOriginalBytes} of its value. */
    public static DeadLetter deadLetter(
            IngestRecord record, DeadLetterReason reason, String message, int maxOriginalBytes, long nowMs) {
        byte[] value = record.value == null ? new byte[0] : record.value;
        byte[] kept = value.length <= maxOriginalBytes ? value : Arrays.copyOf(value, maxOriginalBytes);
        return DeadLetter.newBuilder()
                .setSourceTopic(record.topic == null ? "" : record.topic)
                .setPartition(record.partition)
                .setOffset(record.offset)
                .setKey(record.key == null ? null : ByteBuffer.wrap(record.key))
                .setReason(reason)
                .setMessage(message == null ? reason.name() : message)
                .setOriginal(ByteBuffer.wrap(kept))
                .setOriginalSize(value.length)
                .setTimeMs(nowMs)
                .build();
    }

    private static String supportedRates() {
        return Arrays.stream(SUPPORTED_SAMPLE_RATES).mapToObj(Integer::toString).collect(Collectors.joining(", "));
    }
}
