package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.DeadLetterReason;
import io.meritstream.ingest.FrameDecoder;
import io.meritstream.ingest.StreamKey;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import io.meritstream.session.WindowRequest;
import io.meritstream.session.WindowingConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * 10,000 hostile records through embedded Kafka and the MiniCluster, beside two good streams: random bytes,
 * truncations, flipped header bits (unknown fingerprints), declared lengths of a GiB, empty and huge payloads, every
 * dead-letter reason in every encoding and at every rate, frames after a stream's end and restarted numbering. Every
 * hostile record must come out as exactly one dead letter with the reason it was built for, the job must finish
 * without a restart (the restart strategy is 'none', so one failure fails the test), and the good streams' windows must
 * be complete and exact. Seeded: a failure reproduces.
 */
class HostileInputFuzzITCase {
    private static final int HOSTILE = 10_000;
    private static final long SEED = 20261202L;
    private static final int WINDOW = 16_000;
    private static final int HOP = 8_000;
    private static final long MAX_FRAME_MS = 500;
    private static final int[] RATES = FrameDecoder.SUPPORTED_SAMPLE_RATES;
    private static final AudioEncoding[] ENCODINGS = {
        AudioEncoding.PCM_S16LE, AudioEncoding.PCM_MULAW, AudioEncoding.PCM_ALAW, AudioEncoding.FLOAT32LE
    };
    private static final SingleObjectCodec<AudioFrame> FRAMES = SingleObjectCodec.of(AudioFrame.class);
    private static final SingleObjectCodec<DeadLetter> DEAD_LETTERS = SingleObjectCodec.of(DeadLetter.class);

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    /** One hostile record: its value, the valid frames it needs before it (same key), and the reason expected. */
    record Hostile(String key, byte[] value, List<byte[]> prelude, DeadLetterReason reason) {}

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void everyHostileRecordBecomesOneDeadLetterWithItsReasonAndTheGoodStreamsStayIntact() throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String suffix = KafkaFlinkCluster.freshSuffix();
        String input = "fuzz-frames-" + suffix;
        String dlq = "fuzz-dlq-" + suffix;
        kafka.createTopics(2, input, dlq);

        List<Hostile> hostile = hostileRecords(new Random(SEED));
        assertThat(hostile).hasSize(HOSTILE);
        Map<DeadLetterReason, Integer> expectedByReason = new EnumMap<>(DeadLetterReason.class);
        hostile.forEach(h -> expectedByReason.merge(h.reason(), 1, Integer::sum));
        assertThat(expectedByReason.keySet())
                .as("every reason but OTHER and STREAM_LIMIT (a subtask's count; StreamGuardTest floods it)")
                .hasSize(DeadLetterReason.values().length - 2);

        short[] pcm = new short[32_000]; // 2 s at 16 kHz
        Random signal = new Random(7);
        for (int i = 0; i < pcm.length; i++) {
            pcm[i] = (short) (signal.nextGaussian() * 3000);
        }
        List<AudioFrame> good = new ArrayList<>();
        for (int seq = 0; seq * 320 < pcm.length; seq++) {
            ByteBuffer payload = ByteBuffer.allocate(640).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 320; i++) {
                payload.putShort(pcm[seq * 320 + i]);
            }
            AudioFrame frame =
                    IngestWindowingITCase.frame("good-call", seq, 16_000, AudioEncoding.PCM_S16LE, payload.array());
            frame.setEndOfStream((seq + 1) * 320 >= pcm.length);
            good.add(frame);
        }

        try (KafkaProducer<byte[], byte[]> producer = IngestWindowingITCase.producer(kafka)) {
            int next = 0;
            for (int i = 0; i < hostile.size(); i++) {
                Hostile h = hostile.get(i);
                byte[] key = h.key().getBytes(StandardCharsets.UTF_8);
                for (byte[] frame : h.prelude()) {
                    producer.send(new ProducerRecord<>(input, key, frame));
                }
                producer.send(new ProducerRecord<>(input, key, h.value()));
                // The good stream, spread over the hostile ones.
                if (i % (HOSTILE / good.size()) == 0 && next < good.size()) {
                    producer.send(new ProducerRecord<>(
                            input, "good-call".getBytes(StandardCharsets.UTF_8), FRAMES.encode(good.get(next++))));
                }
            }
            while (next < good.size()) {
                producer.send(new ProducerRecord<>(
                        input, "good-call".getBytes(StandardCharsets.UTF_8), FRAMES.encode(good.get(next++))));
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
                "fuzz-" + suffix,
                "kafka.starting-offsets",
                "earliest")));
        Configuration flink = new Configuration();
        flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // one failure fails the job, and this test
        StreamExecutionEnvironment env = CLUSTER.environment(flink);
        IngestWindowingITCase.CollectingSink.VALUES.clear();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            pool.resetPeakUsage();
        }
        long started = System.nanoTime();
        new MeritStreamJob(
                        KafkaConnectors.audioFrameSource(settings)
                                .setBounded(OffsetsInitializer.latest())
                                .build(),
                        KafkaConnectors.deadLetterSink(settings),
                        new IngestWindowingITCase.CollectingSink(),
                        new IngestSettings(MAX_FRAME_MS, 1024, Duration.ofSeconds(2)),
                        WindowingConfig.builder()
                                .windowSamples(WINDOW)
                                .hopSamples(HOP)
                                .earlyFirstWindow(false)
                                .build())
                .execute(env);
        double seconds = (System.nanoTime() - started) / 1e9;

        // Every hostile record: one dead letter, with its reason, at its offset.
        Map<String, Hostile> byKey = new HashMap<>();
        hostile.forEach(h -> byKey.put(h.key(), h));
        Map<String, DeadLetter> letters = IngestWindowingITCase.readDeadLetters(kafka, dlq, hostile.size());
        assertThat(letters).hasSize(hostile.size());
        Map<DeadLetterReason, Integer> gotByReason = new EnumMap<>(DeadLetterReason.class);
        for (Map.Entry<String, DeadLetter> e : letters.entrySet()) {
            Hostile h = byKey.get(e.getKey());
            assertThat(h).as("dead letter of an unknown key %s", e.getKey()).isNotNull();
            DeadLetter letter = e.getValue();
            assertThat(letter.getReason())
                    .as("%s: %s", e.getKey(), letter.getMessage())
                    .isEqualTo(h.reason());
            assertThat(letter.getOriginalSize()).isEqualTo(h.value().length);
            gotByReason.merge(letter.getReason(), 1, Integer::sum);
        }
        assertThat(gotByReason).isEqualTo(expectedByReason);

        // The good stream: every window, exact.
        List<WindowRequest> goodWindows = IngestWindowingITCase.CollectingSink.VALUES.stream()
                .filter(w -> w.streamKey().equals(StreamKey.of("good-call", "mono")))
                .sorted((a, b) -> Long.compare(a.windowIndex, b.windowIndex))
                .toList();
        int full = (pcm.length - WINDOW) / HOP + 1;
        assertThat(goodWindows).hasSize(full + 1);
        for (int k = 0; k < goodWindows.size(); k++) {
            WindowRequest w = goodWindows.get(k);
            assertThat(w.windowIndex).isEqualTo(k);
            assertThat(w.startSample).isEqualTo((long) k * HOP);
            for (int i = 0; i < w.validSamples; i++) {
                assertThat(w.samples[i]).isEqualTo(pcm[k * HOP + i] / 32768f);
            }
        }
        long peakHeap = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peakHeap += pool.getPeakUsage().getUsed();
            }
        }
        System.out.printf(
                "HostileInputFuzzITCase: %d hostile records, %d dead letters by reason %s; job %.1f s, no restart;"
                        + " peak heap of this JVM (broker and cluster included) %d MB%n",
                hostile.size(), letters.size(), new TreeMap<>(gotByReason), seconds, peakHeap >> 20);
    }

    // --- the hostile records ---

    static List<Hostile> hostileRecords(Random random) {
        List<Hostile> out = new ArrayList<>();
        int n = 0;
        while (out.size() < HOSTILE) {
            String key = "fuzz-" + n++;
            String session = "fuzz-call-" + n;
            int rate = RATES[random.nextInt(RATES.length)];
            AudioEncoding encoding = ENCODINGS[random.nextInt(ENCODINGS.length)];
            int kind = random.nextInt(16);
            out.add(
                    switch (kind) {
                        case 0 -> new Hostile(
                                key,
                                randomBytes(random, random.nextInt(2_000)),
                                List.of(),
                                DeadLetterReason.UNDECODABLE);
                        case 1 -> {
                            byte[] valid = FRAMES.encode(valid(session, 0, rate, encoding, random));
                            yield new Hostile(
                                    key,
                                    Arrays.copyOf(valid, random.nextInt(valid.length)),
                                    List.of(),
                                    DeadLetterReason.UNDECODABLE); // truncated anywhere, down to 0 bytes
                        }
                        case 2 -> {
                            byte[] flipped = FRAMES.encode(valid(session, 0, rate, encoding, random));
                            int bit = random.nextInt(10 * 8); // magic or fingerprint: unknown to every reader
                            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
                            yield new Hostile(key, flipped, List.of(), DeadLetterReason.UNDECODABLE);
                        }
                        case 3 -> {
                            byte[] header = Arrays.copyOf(FRAMES.encode(valid(session, 0, rate, encoding, random)), 10);
                            // A sessionId claiming 2^30 bytes in a 15-byte record.
                            byte[] claim = Arrays.copyOf(header, 15);
                            System.arraycopy(
                                    new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08},
                                    0,
                                    claim,
                                    10,
                                    5);
                            yield new Hostile(key, claim, List.of(), DeadLetterReason.UNDECODABLE);
                        }
                        case 4 -> new Hostile(
                                key,
                                FRAMES.encode(withSession(valid(session, 0, rate, encoding, random), "")),
                                List.of(),
                                DeadLetterReason.EMPTY_SESSION_ID);
                        case 5 -> new Hostile(
                                key,
                                FRAMES.encode(withSession(
                                        valid(session, 0, rate, encoding, random),
                                        "s".repeat(257 + random.nextInt(5_000)))),
                                List.of(),
                                DeadLetterReason.ID_TOO_LONG);
                        case 6 -> {
                            AudioFrame f = valid(session, 0, rate, encoding, random);
                            f.setSeq(-1 - random.nextInt(Integer.MAX_VALUE));
                            yield new Hostile(key, FRAMES.encode(f), List.of(), DeadLetterReason.NEGATIVE_SEQ);
                        }
                        case 7 -> {
                            AudioFrame f = valid(session, 0, rate, encoding, random);
                            f.setEncoding(AudioEncoding.UNKNOWN);
                            yield new Hostile(key, FRAMES.encode(f), List.of(), DeadLetterReason.UNSUPPORTED_ENCODING);
                        }
                        case 8 -> {
                            AudioFrame f = valid(session, 0, rate, encoding, random);
                            f.setSampleRate(unsupportedRate(random));
                            yield new Hostile(
                                    key, FRAMES.encode(f), List.of(), DeadLetterReason.UNSUPPORTED_SAMPLE_RATE);
                        }
                        case 9 -> {
                            AudioEncoding wide =
                                    random.nextBoolean() ? AudioEncoding.PCM_S16LE : AudioEncoding.FLOAT32LE;
                            AudioFrame f = valid(session, 0, rate, wide, random);
                            byte[] payload = new byte[bytesPerSample(wide) * (1 + random.nextInt(100)) + 1];
                            f.setPayload(ByteBuffer.wrap(payload));
                            yield new Hostile(
                                    key, FRAMES.encode(f), List.of(), DeadLetterReason.PAYLOAD_NOT_WHOLE_SAMPLES);
                        }
                        case 10 -> {
                            AudioFrame f = valid(session, 0, rate, encoding, random);
                            // From just over the 500 ms limit to 1.5 s (under the broker's 1 MB records).
                            int samples = (int) (rate * MAX_FRAME_MS / 1000) + 1 + random.nextInt(rate);
                            f.setPayload(ByteBuffer.wrap(new byte[samples * bytesPerSample(encoding)]));
                            yield new Hostile(key, FRAMES.encode(f), List.of(), DeadLetterReason.FRAME_TOO_LONG);
                        }
                        case 11 -> new Hostile(
                                key,
                                FRAMES.encode(floats(
                                        session,
                                        rate,
                                        random,
                                        random.nextBoolean()
                                                ? Float.NaN
                                                : (random.nextBoolean()
                                                        ? Float.POSITIVE_INFINITY
                                                        : Float.NEGATIVE_INFINITY))),
                                List.of(),
                                DeadLetterReason.NON_FINITE_SAMPLES);
                        case 12 -> new Hostile(
                                key,
                                FRAMES.encode(floats(
                                        session,
                                        rate,
                                        random,
                                        (random.nextBoolean() ? 1 : -1) * (16.5f + random.nextFloat() * 1e30f))),
                                List.of(),
                                DeadLetterReason.SAMPLE_OUT_OF_RANGE);
                        case 13 -> {
                            AudioFrame end = valid(session, 0, rate, encoding, random);
                            end.setEndOfStream(true);
                            yield new Hostile(
                                    key,
                                    FRAMES.encode(valid(session, 1 + random.nextInt(1_000), rate, encoding, random)),
                                    List.of(FRAMES.encode(end)),
                                    DeadLetterReason.AFTER_END_OF_STREAM);
                        }
                        case 14 -> {
                            if (random.nextInt(8) != 0) { // preludes of 60 frames each: keep them few
                                yield new Hostile(key, new byte[0], List.of(), DeadLetterReason.UNDECODABLE);
                            }
                            List<byte[]> prelude = new ArrayList<>();
                            for (int seq = 0; seq < 60; seq++) {
                                prelude.add(
                                        FRAMES.encode(valid(session, seq, 16_000, AudioEncoding.PCM_S16LE, random)));
                            }
                            yield new Hostile(
                                    key,
                                    FRAMES.encode(
                                            valid(session, random.nextInt(9), 16_000, AudioEncoding.PCM_S16LE, random)),
                                    prelude,
                                    DeadLetterReason.SEQ_RESET);
                        }
                        case 15 -> {
                            if (random.nextBoolean()) {
                                yield new Hostile(key, new byte[0], List.of(), DeadLetterReason.UNDECODABLE);
                            }
                            AudioFrame f = valid(session, 0, rate, encoding, random);
                            f.setSeq(FrameDecoder.MAX_SEQ + 1 + random.nextLong(Long.MAX_VALUE - FrameDecoder.MAX_SEQ));
                            yield new Hostile(key, FRAMES.encode(f), List.of(), DeadLetterReason.SEQ_TOO_LARGE);
                        }
                        default -> throw new IllegalStateException("kind " + kind);
                    });
        }
        return out;
    }

    private static int unsupportedRate(Random random) {
        while (true) {
            int rate = random.nextInt(200_000) - 1_000;
            if (Arrays.stream(FrameDecoder.SUPPORTED_SAMPLE_RATES).noneMatch(r -> r == rate)) {
                return rate;
            }
        }
    }

    /** A valid 20 ms frame of noise, or shorter. */
    private static AudioFrame valid(String session, long seq, int rate, AudioEncoding encoding, Random random) {
        int samples = Math.max(1, rate / 50 - random.nextInt(rate / 100));
        byte[] payload = new byte[samples * bytesPerSample(encoding)];
        if (encoding == AudioEncoding.FLOAT32LE) {
            ByteBuffer b = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < samples; i++) {
                b.putFloat((float) (random.nextGaussian() * 0.1));
            }
        } else {
            random.nextBytes(payload);
        }
        return IngestWindowingITCase.frame(session, seq, rate, encoding, payload);
    }

    private static AudioFrame floats(String session, int rate, Random random, float bad) {
        AudioFrame f = valid(session, 0, rate, AudioEncoding.FLOAT32LE, random);
        ByteBuffer payload = f.getPayload().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int samples = payload.remaining() / 4;
        payload.putFloat(4 * random.nextInt(samples), bad);
        return f;
    }

    private static AudioFrame withSession(AudioFrame f, String session) {
        f.setSessionId(session);
        return f;
    }

    private static int bytesPerSample(AudioEncoding encoding) {
        return switch (encoding) {
            case PCM_S16LE -> 2;
            case FLOAT32LE -> 4;
            default -> 1;
        };
    }

    private static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }
}
