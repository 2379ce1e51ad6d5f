package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.avro.WindowFlag;
import io.meritstream.ingest.G711;
import io.meritstream.ingest.StreamKey;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import io.meritstream.session.WindowRequest;
import io.meritstream.session.WindowingConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The ingest and windowing topology of {@link MeritStreamJob} end to end: a real Kafka broker in-process, a Flink
 * MiniCluster, frames of two sessions (three channels: 16 kHz PCM, 8 kHz μ-law, 48 kHz float) interleaved with one bad
 * record per dead-letter reason. The windows must come out complete and with the right audio, the bad records must be
 * in the dead-letter topic with their reasons and bytes.
 */
class IngestWindowingITCase {
    private static final int WINDOW = 16_000; // 1 s
    private static final int HOP = 8_000; // 0.5 s
    private static final long MAX_FRAME_MS = 500;

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    private static final SingleObjectCodec<AudioFrame> FRAMES = SingleObjectCodec.of(AudioFrame.class);
    private static final SingleObjectCodec<DeadLetter> DEAD_LETTERS = SingleObjectCodec.of(DeadLetter.class);

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES) // a job that never finishes fails here instead of hanging the build
    void framesBecomeWindowsAndBadRecordsBecomeDeadLetters() throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String suffix = KafkaFlinkCluster.freshSuffix();
        String input = "audio-frames-" + suffix;
        String dlq = "audio-dlq-" + suffix;
        kafka.createTopics(2, input, dlq);

        // Known signals, in 20 ms frames.
        short[] pcm = pcmSignal(36_800); // 2.3 s at 16 kHz
        float[] muLawTone = tone(8_000, 1_000, 0.5, 13_600); // 1.7 s at 8 kHz
        float[] floatTone = tone(48_000, 440, 0.3, 62_400); // 1.3 s at 48 kHz
        List<AudioFrame> a = frames("call-A", "agent", 16_000, AudioEncoding.PCM_S16LE, pcm16Payloads(pcm, 320));
        List<AudioFrame> b =
                frames("call-B", "customer", 8_000, AudioEncoding.PCM_MULAW, muLawPayloads(muLawTone, 160));
        List<AudioFrame> c = frames("call-B", "agent", 48_000, AudioEncoding.FLOAT32LE, floatPayloads(floatTone, 960));

        Map<String, byte[]> bad = badRecords();
        Map<String, RecordMetadata> badMetadata = new HashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka)) {
            // Streams a stream-level bad record needs before it, under the bad record's key (one partition, in order).
            for (Map.Entry<String, List<AudioFrame>> prelude : preludes().entrySet()) {
                for (AudioFrame frame : prelude.getValue()) {
                    producer.send(new ProducerRecord<>(input, bytes(prelude.getKey()), FRAMES.encode(frame)))
                            .get();
                }
            }
            int maxFrames = Math.max(a.size(), Math.max(b.size(), c.size()));
            List<String> badKeys = new ArrayList<>(bad.keySet());
            for (int i = 0; i < maxFrames; i++) {
                for (List<AudioFrame> stream : List.of(a, b, c)) {
                    if (i < stream.size()) {
                        AudioFrame frame = stream.get(i);
                        producer.send(new ProducerRecord<>(
                                input, bytes(frame.getSessionId().toString()), FRAMES.encode(frame)));
                    }
                }
                if (i % 10 == 5 && !badKeys.isEmpty()) { // bad records in between the good ones
                    String key = badKeys.remove(0);
                    badMetadata.put(
                            key,
                            producer.send(new ProducerRecord<>(input, bytes(key), bad.get(key)))
                                    .get());
                }
            }
            for (String key : badKeys) {
                badMetadata.put(
                        key,
                        producer.send(new ProducerRecord<>(input, bytes(key), bad.get(key)))
                                .get());
            }
            producer.flush();
        }

        KafkaSettings settings = KafkaSettings.fromConfiguration(Configuration.fromMap(Map.of(
                "kafka.bootstrap-servers",
                kafka.bootstrapServers(),
                "kafka.input-topic",
                input,
                "kafka.dlq-topic",
                dlq,
                "kafka.group-id",
                "it-" + suffix,
                "kafka.starting-offsets",
                "earliest")));
        CollectingSink.VALUES.clear();
        // No Kryo anywhere in the graph: records, dead letters (Avro) and windows must have real serializers.
        Configuration flink = new Configuration();
        flink.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = CLUSTER.environment(flink);
        new MeritStreamJob(
                        KafkaConnectors.audioFrameSource(settings)
                                .setBounded(OffsetsInitializer.latest())
                                .build(),
                        KafkaConnectors.deadLetterSink(settings),
                        new CollectingSink(),
                        new IngestSettings(MAX_FRAME_MS, 1024, Duration.ofSeconds(2)),
                        WindowingConfig.builder()
                                .windowSamples(WINDOW)
                                .hopSamples(HOP)
                                .earlyFirstWindow(false)
                                .build())
                .execute(env);

        Map<String, List<WindowRequest>> windows = CollectingSink.VALUES.stream()
                .filter(w -> !w.sessionId.startsWith(PRELUDE))
                .sorted(Comparator.comparingLong(w -> w.windowIndex))
                .collect(Collectors.groupingBy(WindowRequest::streamKey));
        assertThat(windows)
                .containsOnlyKeys(
                        StreamKey.of("call-A", "agent"),
                        StreamKey.of("call-B", "customer"),
                        StreamKey.of("call-B", "agent"));

        // 16 kHz PCM: exact samples.
        float[] expectedA = new float[pcm.length];
        for (int i = 0; i < pcm.length; i++) {
            expectedA[i] = pcm[i] / 32768f;
        }
        assertWindows(windows.get(StreamKey.of("call-A", "agent")), pcm.length);
        assertThat(timeline(windows.get(StreamKey.of("call-A", "agent")), pcm.length))
                .containsExactly(expectedA);

        // 8 kHz μ-law, resampled: the 1 kHz tone within μ-law's quantisation noise (≈ 38 dB SNR).
        int lengthB = muLawTone.length * 2;
        assertWindows(windows.get(StreamKey.of("call-B", "customer")), lengthB);
        assertThat(errorDb(timeline(windows.get(StreamKey.of("call-B", "customer")), lengthB), 1_000, 0.5))
                .isLessThan(-30);

        // 48 kHz float, resampled: the 440 Hz tone, no quantisation, so far closer.
        int lengthC = floatTone.length / 3;
        assertWindows(windows.get(StreamKey.of("call-B", "agent")), lengthC);
        assertThat(errorDb(timeline(windows.get(StreamKey.of("call-B", "agent")), lengthC), 440, 0.3))
                .isLessThan(-60);

        // Every bad record is in the dead-letter topic with its reason, its key and its bytes.
        Map<String, DeadLetter> letters = readDeadLetters(kafka, dlq, bad.size());
        assertThat(letters).containsOnlyKeys(bad.keySet());
        for (Map.Entry<String, DeadLetter> entry : letters.entrySet()) {
            DeadLetter letter = entry.getValue();
            String key = entry.getKey();
            assertThat(letter.getReason().name()).as(key).isEqualTo(key.substring("bad-".length()));
            assertThat(letter.getSourceTopic().toString()).isEqualTo(input);
            assertThat(letter.getPartition()).isEqualTo(badMetadata.get(key).partition());
            assertThat(letter.getOffset()).isEqualTo(badMetadata.get(key).offset());
            byte[] original = bad.get(key);
            assertThat(letter.getOriginalSize()).isEqualTo(original.length);
            assertThat(letter.getOriginal())
                    .isEqualTo(ByteBuffer.wrap(original, 0, Math.min(original.length, 1024))
                            .slice());
            assertThat(letter.getMessage().toString()).isNotBlank();
        }
    }

    // --- expectations ---

    /** Window count, indices, offsets, lengths and flags of one channel of {@code length} samples at 16 kHz. */
    private static void assertWindows(List<WindowRequest> windows, int length) {
        int full = length < WINDOW ? 0 : (length - WINDOW) / HOP + 1;
        assertThat(windows).hasSize(full + 1); // the full windows, then the final partial one
        for (int k = 0; k < windows.size(); k++) {
            WindowRequest w = windows.get(k);
            assertThat(w.windowIndex).isEqualTo(k);
            assertThat(w.startSample).isEqualTo((long) k * HOP);
            assertThat(w.samples).hasSize(WINDOW);
            boolean last = k == windows.size() - 1;
            assertThat(w.finalWindow).isEqualTo(last);
            assertThat(w.validSamples).isEqualTo(last ? length - k * HOP : WINDOW);
            assertThat(w.flags).containsExactly(last ? new WindowFlag[] {WindowFlag.END_OF_STREAM} : new WindowFlag[0]);
        }
    }

    /** The channel's audio put back together from its windows (each sample from the first window that has it). */
    private static float[] timeline(List<WindowRequest> windows, int length) {
        float[] all = new float[length];
        boolean[] seen = new boolean[length];
        for (WindowRequest w : windows) {
            for (int i = 0; i < w.validSamples; i++) {
                int at = (int) w.startSample + i;
                if (!seen[at]) {
                    all[at] = w.samples[i];
                    seen[at] = true;
                } else {
                    assertThat(w.samples[i])
                            .as("overlapping windows agree at %d", at)
                            .isEqualTo(all[at]);
                }
            }
        }
        return all;
    }

    /** Error of {@code x} against the ideal tone at 16 kHz, dB, away from the abrupt start and end (10 ms). */
    private static double errorDb(float[] x, double frequency, double amplitude) {
        double error = 0;
        double signal = 0;
        for (int k = 160; k < x.length - 160; k++) {
            double ideal = amplitude * Math.sin(2 * Math.PI * frequency * k / 16_000);
            error += (x[k] - ideal) * (x[k] - ideal);
            signal += ideal * ideal;
        }
        return 10 * Math.log10(error / signal);
    }

    /**
     * The dead letters of {@code topic} by their Kafka key (the rejected record's key), read_committed, until {@code
     * expected} have come; each key once, and nothing beyond them.
     */
    static Map<String, DeadLetter> readDeadLetters(EmbeddedKafkaBroker kafka, String topic, int expected) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "dlq-reader-" + topic);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, DeadLetter> letters = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (letters.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    DeadLetter letter = DEAD_LETTERS.decode(record.value());
                    // The dead letter's Kafka key is the rejected record's key.
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    assertThat(letter.getKey()).isEqualTo(ByteBuffer.wrap(record.key()));
                    assertThat(letters.put(key, letter))
                            .as("one dead letter per bad record")
                            .isNull();
                }
            }
            // Nothing beyond the expected ones.
            assertThat(consumer.poll(Duration.ofMillis(500))).isEmpty();
        }
        return letters;
    }

    // --- test data ---

    private static final String PRELUDE = "prelude-";

    /**
     * The valid frames the stream-level reasons need first, by the Kafka key of their bad record: a stream that ended
     * (the bad record is a frame after its end), and one that reached seq 120 (the bad record starts again at 0).
     */
    private static Map<String, List<AudioFrame>> preludes() {
        Map<String, List<AudioFrame>> preludes = new HashMap<>();
        AudioFrame end = frame(PRELUDE + "ended", 0, 16_000, AudioEncoding.PCM_S16LE, new byte[640]);
        end.setEndOfStream(true);
        preludes.put("bad-AFTER_END_OF_STREAM", List.of(end));
        List<AudioFrame> counting = new ArrayList<>();
        for (int seq = 0; seq <= 120; seq++) {
            counting.add(frame(PRELUDE + "reset", seq, 16_000, AudioEncoding.PCM_S16LE, new byte[640]));
        }
        preludes.put("bad-SEQ_RESET", counting);
        return preludes;
    }

    /** One bad record per reason, keyed "bad-REASON". */
    private static Map<String, byte[]> badRecords() {
        Map<String, byte[]> bad = new HashMap<>();
        bad.put("bad-UNDECODABLE", bytes("this is not an Avro message"));
        bad.put("bad-EMPTY_SESSION_ID", FRAMES.encode(frame("", 0, 16_000, AudioEncoding.PCM_S16LE, new byte[640])));
        bad.put("bad-NEGATIVE_SEQ", FRAMES.encode(frame("x", -1, 16_000, AudioEncoding.PCM_S16LE, new byte[640])));
        bad.put(
                "bad-SEQ_TOO_LARGE",
                FRAMES.encode(frame("x", Long.MAX_VALUE, 16_000, AudioEncoding.PCM_S16LE, new byte[640])));
        bad.put("bad-UNSUPPORTED_ENCODING", FRAMES.encode(frame("x", 0, 16_000, AudioEncoding.UNKNOWN, new byte[640])));
        bad.put(
                "bad-UNSUPPORTED_SAMPLE_RATE",
                FRAMES.encode(frame("x", 0, 11_025, AudioEncoding.PCM_S16LE, new byte[640])));
        bad.put(
                "bad-PAYLOAD_NOT_WHOLE_SAMPLES",
                FRAMES.encode(frame("x", 0, 16_000, AudioEncoding.PCM_S16LE, new byte[641])));
        // 600 ms at 16 kHz, over the 500 ms limit; bigger than the 1024 bytes a dead letter keeps.
        bad.put("bad-FRAME_TOO_LONG", FRAMES.encode(frame("x", 0, 16_000, AudioEncoding.PCM_S16LE, new byte[19_200])));
        ByteBuffer nan = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(0.1f)
                .putFloat(Float.NaN);
        bad.put("bad-NON_FINITE_SAMPLES", FRAMES.encode(frame("x", 0, 16_000, AudioEncoding.FLOAT32LE, nan.array())));
        ByteBuffer huge = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(0.1f)
                .putFloat(1e30f);
        bad.put("bad-SAMPLE_OUT_OF_RANGE", FRAMES.encode(frame("x", 0, 16_000, AudioEncoding.FLOAT32LE, huge.array())));
        bad.put(
                "bad-ID_TOO_LONG",
                FRAMES.encode(frame("x".repeat(300), 0, 16_000, AudioEncoding.PCM_S16LE, new byte[640])));
        bad.put(
                "bad-AFTER_END_OF_STREAM",
                FRAMES.encode(frame(PRELUDE + "ended", 1, 16_000, AudioEncoding.PCM_S16LE, new byte[640])));
        bad.put(
                "bad-SEQ_RESET",
                FRAMES.encode(frame(PRELUDE + "reset", 0, 16_000, AudioEncoding.PCM_S16LE, new byte[640])));
        // STREAM_LIMIT counts a subtask's live streams, which depends on how keys spread over the subtasks: its own
        // test is StreamGuardTest's (100,000 ids against a cap of 1,000).
        assertThat(bad.keySet())
                .as("one bad record per reason but OTHER and STREAM_LIMIT")
                .hasSize(DeadLetterReason.values().length - 2);
        return bad;
    }

    private static List<AudioFrame> frames(
            String session, String channel, int rate, AudioEncoding encoding, List<byte[]> payloads) {
        List<AudioFrame> frames = new ArrayList<>();
        for (int seq = 0; seq < payloads.size(); seq++) {
            AudioFrame frame = frame(session, seq, rate, encoding, payloads.get(seq));
            frame.setChannel(channel);
            frame.setEndOfStream(seq == payloads.size() - 1);
            frames.add(frame);
        }
        return frames;
    }

    static AudioFrame frame(String session, long seq, int rate, AudioEncoding encoding, byte[] payload) {
        return AudioFrame.newBuilder()
                .setSessionId(session)
                .setChannel("mono")
                .setSeq(seq)
                .setTimestampMs(1_700_000_000_000L + seq * 20)
                .setSampleRate(rate)
                .setEncoding(encoding)
                .setPayload(ByteBuffer.wrap(payload))
                .setEndOfStream(false)
                .setAttributes(Map.of())
                .build();
    }

    /** A chirp-like PCM signal whose every sample differs, so misplaced samples show. */
    private static short[] pcmSignal(int n) {
        short[] x = new short[n];
        for (int i = 0; i < n; i++) {
            x[i] = (short) Math.round(12_000 * Math.sin(2 * Math.PI * (200 + i / 40.0) * i / 16_000.0) + (i % 7));
        }
        return x;
    }

    private static float[] tone(int rate, double frequency, double amplitude, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (amplitude * Math.sin(2 * Math.PI * frequency * i / rate));
        }
        return x;
    }

    private static List<byte[]> pcm16Payloads(short[] x, int frame) {
        List<byte[]> payloads = new ArrayList<>();
        for (int start = 0; start < x.length; start += frame) {
            ByteBuffer b =
                    ByteBuffer.allocate(2 * Math.min(frame, x.length - start)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = start; i < Math.min(x.length, start + frame); i++) {
                b.putShort(x[i]);
            }
            payloads.add(b.array());
        }
        return payloads;
    }

    private static List<byte[]> muLawPayloads(float[] x, int frame) {
        List<byte[]> payloads = new ArrayList<>();
        for (int start = 0; start < x.length; start += frame) {
            byte[] b = new byte[Math.min(frame, x.length - start)];
            for (int i = 0; i < b.length; i++) {
                b[i] = G711.linearToUlaw(Math.round(x[start + i] * 32767));
            }
            payloads.add(b);
        }
        return payloads;
    }

    private static List<byte[]> floatPayloads(float[] x, int frame) {
        List<byte[]> payloads = new ArrayList<>();
        for (int start = 0; start < x.length; start += frame) {
            ByteBuffer b =
                    ByteBuffer.allocate(4 * Math.min(frame, x.length - start)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = start; i < Math.min(x.length, start + frame); i++) {
                b.putFloat(x[i]);
            }
            payloads.add(b.array());
        }
        return payloads;
    }

    /** A producer of raw records; records up to 8 MB, for the hostile ones (the broker still takes only 1 MB). */
    static KafkaProducer<byte[], byte[]> producer(EmbeddedKafkaBroker kafka) {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(8 << 20));
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Collects the windows in this JVM (the MiniCluster runs here). */
    static final class CollectingSink implements Sink<WindowRequest> {
        static final ConcurrentLinkedQueue<WindowRequest> VALUES = new ConcurrentLinkedQueue<>();

        @Override
        public SinkWriter<WindowRequest> createWriter(WriterInitContext context) {
            return new SinkWriter<>() {
                @Override
                public void write(WindowRequest element, Context context) {
                    VALUES.add(element);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }
}
