package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.analytics.AnalyticsConfig;
import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.conversation.ConversationConfig;
import io.meritstream.inference.InferenceOptions;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import io.meritstream.session.WindowingConfig;
import io.meritstream.speaker.SpeakerReferenceConfig;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What the end-to-end ITCases share: a shipped two-channel call from {@code data/calls} produced to Kafka as 20 ms
 * PCM_S16LE frames, the job's options for fresh topics, the job with a bounded Kafka source, and every output topic read
 * back under {@code isolation.level=read_committed}.
 */
final class CallPipeline {
    static final int RATE = 16_000;
    static final int FRAME_SAMPLES = 320; // 20 ms
    static final List<String> CHANNELS = List.of("agent", "customer");

    /**
     * Whether the trained default model ({@code models/merit-sparse.onnx}, packaged as the classpath resource {@code
     * /models/merit-sparse.onnx}) is in this build. Without it the tests run the committed tiny fixture, whose weights
     * are random: the plumbing is the same, the emotions are not meaningful.
     */
    static final boolean TRAINED_DEFAULT_MODEL = MeritStreamJob.class.getResource("/models/merit-sparse.onnx") != null;

    private CallPipeline() {}

    /** A shipped call: the audio of both channels (PCM16 at 16 kHz) and its ground truth. */
    record Call(String id, Map<String, short[]> audio, JsonNode truth) {
        /** The first {@code seconds} of both channels (the same cut, so they stay aligned). */
        Call trimmed(double seconds) {
            Map<String, short[]> cut = new LinkedHashMap<>();
            audio.forEach((channel, x) ->
                    cut.put(channel, java.util.Arrays.copyOf(x, Math.min(x.length, (int) Math.round(seconds * RATE)))));
            return new Call(id, cut, truth);
        }

        int samples(String channel) {
            return audio.get(channel).length;
        }

        /** Start and end (s) of the first span of {@code emotion} on {@code channel} in the ground truth. */
        double[] span(String channel, String emotion) {
            for (JsonNode span : truth.get("spans")) {
                if (span.get("channel").asText().equals(channel)
                        && span.get("emotion").asText().equals(emotion)) {
                    return new double[] {
                        span.get("start_s").asDouble(), span.get("end_s").asDouble()
                    };
                }
            }
            throw new AssertionError("no " + emotion + " span on " + channel + " in " + id);
        }
    }

    static Call loadCall(String id) throws Exception {
        Path dir = callsDirectory();
        Map<String, short[]> audio = new LinkedHashMap<>();
        for (String channel : CHANNELS) {
            audio.put(channel, readWav(dir.resolve(id + "." + channel + ".wav").toFile()));
        }
        JsonNode truth = new ObjectMapper().readTree(dir.resolve(id + ".json").toFile());
        assertThat(truth.get("sample_rate").asInt()).isEqualTo(RATE);
        return new Call(id, audio, truth);
    }

    /** The WAV of one channel of a shipped call. */
    static Path callWav(String id, String channel) {
        return callsDirectory().resolve(id + "." + channel + ".wav");
    }

    /** {@code data/calls} of the repository, found from the working directory (the module's, under Maven). */
    private static Path callsDirectory() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path calls = dir.resolve("data").resolve("calls");
            if (Files.isDirectory(calls)) {
                return calls;
            }
        }
        throw new AssertionError("data/calls not found above " + Path.of("").toAbsolutePath());
    }

    /** A mono PCM16 16 kHz WAV (the shipped calls' format; anything else is a broken fixture). */
    private static short[] readWav(File file) throws Exception {
        try (AudioInputStream in = AudioSystem.getAudioInputStream(file)) {
            AudioFormat format = in.getFormat();
            assertThat(format.getEncoding()).as(file.getName()).isEqualTo(AudioFormat.Encoding.PCM_SIGNED);
            assertThat(format.getSampleSizeInBits()).as(file.getName()).isEqualTo(16);
            assertThat(format.getChannels()).as(file.getName()).isEqualTo(1);
            assertThat(format.getSampleRate()).as(file.getName()).isEqualTo((float) RATE);
            assertThat(format.isBigEndian()).as(file.getName()).isFalse();
            byte[] bytes = in.readAllBytes();
            short[] x = new short[bytes.length / 2];
            ByteBuffer.wrap(bytes)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .asShortBuffer()
                    .get(x);
            return x;
        }
    }

    /**
     * Produces both channels as 20 ms PCM_S16LE frames, interleaved frame by frame as a live call would arrive, keyed
     * by the session id, the last frame of each channel flagged end of stream.
     */
    static void produce(EmbeddedKafkaBroker kafka, String topic, String sessionId, Call call) throws Exception {
        produce(kafka, topic, sessionId, call, 0, Integer.MAX_VALUE);
    }

    /** As {@link #produce(EmbeddedKafkaBroker, String, String, Call)}, only frames {@code fromFrame} to {@code toFrame}. */
    static void produce(
            EmbeddedKafkaBroker kafka, String topic, String sessionId, Call call, int fromFrame, int toFrame)
            throws Exception {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // A partition's first produce can meet NOT_LEADER_OR_FOLLOWER just after the topic was created; the idempotent
        // producer then went on with OUT_OF_ORDER_SEQUENCE_NUMBER until its delivery timeout and dropped the batches.
        // One request in flight keeps the order on retries without idempotence (the windower drops a duplicate seq).
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        byte[] key = sessionId.getBytes(StandardCharsets.UTF_8);
        SingleObjectCodec<AudioFrame> codec = SingleObjectCodec.of(AudioFrame.class);
        AtomicReference<Exception> failure = new AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            int maxFrames = 0;
            for (String channel : CHANNELS) {
                maxFrames = Math.max(maxFrames, frames(call.samples(channel)));
            }
            for (int seq = fromFrame; seq < Math.min(maxFrames, toFrame); seq++) {
                for (String channel : CHANNELS) {
                    short[] x = call.audio().get(channel);
                    int frames = frames(x.length);
                    if (seq >= frames) {
                        continue;
                    }
                    int from = seq * FRAME_SAMPLES;
                    int to = Math.min(x.length, from + FRAME_SAMPLES);
                    ByteBuffer payload = ByteBuffer.allocate(2 * (to - from)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    for (int i = from; i < to; i++) {
                        payload.putShort(x[i]);
                    }
                    AudioFrame frame = AudioFrame.newBuilder()
                            .setSessionId(sessionId)
                            .setChannel(channel)
                            .setSeq(seq)
                            .setTimestampMs(1_700_000_000_000L + seq * 20L)
                            .setSampleRate(RATE)
                            .setEncoding(AudioEncoding.PCM_S16LE)
                            .setPayload(ByteBuffer.wrap(payload.array()))
                            .setEndOfStream(seq == frames - 1)
                            .setAttributes(Map.of())
                            .build();
                    producer.send(new ProducerRecord<>(topic, key, codec.encode(frame)), (metadata, e) -> {
                        if (e != null) {
                            failure.compareAndSet(null, e);
                        }
                    });
                }
            }
            producer.flush();
        }
        if (failure.get() != null) {
            throw new AssertionError("producing the call to " + topic + " failed", failure.get());
        }
    }

    private static int frames(int samples) {
        return (samples + FRAME_SAMPLES - 1) / FRAME_SAMPLES;
    }

    /** The job's options for fresh topics named after {@code suffix}; the topics are created. */
    static Configuration jobOptions(EmbeddedKafkaBroker kafka, String suffix) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        options.put("kafka.input-topic", "audio-frames-" + suffix);
        options.put("kafka.dlq-topic", "audio-dlq-" + suffix);
        options.put("kafka.topic.enhanced-audio", "enhanced-audio-" + suffix);
        options.put("kafka.topic.emotion-events", "emotion-events-" + suffix);
        options.put("kafka.topic.emotion-trends", "emotion-trends-" + suffix);
        options.put("kafka.topic.emotion-alerts", "emotion-alerts-" + suffix);
        options.put("kafka.group-id", "it-" + suffix);
        options.put("kafka.starting-offsets", "earliest");
        // Delivery left at its defaults: events, trends and alerts at-least-once; audio and dead letters exactly-once.
        if (!TRAINED_DEFAULT_MODEL) {
            options.put("inference.model.path", fixtureModel().toString());
        }
        Configuration conf = Configuration.fromMap(options);
        KafkaSettings settings = KafkaSettings.fromConfiguration(conf);
        kafka.createTopics(
                2,
                settings.inputTopic(),
                settings.dlqTopic(),
                settings.enhancedAudioTopic(),
                settings.emotionEventsTopic(),
                settings.emotionTrendsTopic(),
                settings.emotionAlertsTopic());
        return conf;
    }

    /**
     * Flink options of the ITCases' jobs: no Kryo (every record travels with a real serializer) and file checkpoint
     * storage, as the README asks of production: checkpoints hold the windows waiting for inference (192 KB each),
     * beyond what the in-memory default takes.
     */
    static Configuration flinkOptions(Path checkpointDir) {
        Configuration flink = new Configuration();
        flink.set(PipelineOptions.GENERIC_TYPES, false);
        flink.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        flink.set(
                CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                checkpointDir.toUri().toString());
        return flink;
    }

    /**
     * One channel's enhanced audio covers its call once and in order: seq continuous from 0, each chunk starting where
     * the last ended, at 16 kHz, the last one marked end of stream, as many samples as went in.
     */
    static void assertEnhancedAudioCoversTheCall(String channel, List<EnhancedAudioChunk> chunks, int samples) {
        long at = 0;
        for (int seq = 0; seq < chunks.size(); seq++) {
            EnhancedAudioChunk chunk = chunks.get(seq);
            assertThat(chunk.getSeq())
                    .as("%s: enhanced-audio seq continuous from 0", channel)
                    .isEqualTo(seq);
            assertThat(chunk.getStartSample())
                    .as("%s chunk %d start", channel, seq)
                    .isEqualTo(at);
            assertThat(chunk.getSampleRate()).isEqualTo(RATE);
            assertThat(chunk.getEndOfStream()).isEqualTo(seq == chunks.size() - 1);
            at += chunk.getPayload().remaining() / 2;
        }
        assertThat(at).as("%s: enhanced samples = input samples", channel).isEqualTo(samples);
    }

    static Path fixtureModel() throws Exception {
        return Path.of(CallPipeline.class
                .getResource("/fixtures/sparse_merit_fixture.onnx")
                .toURI());
    }

    /**
     * The whole job of {@code options}, with the Kafka source bounded at the offsets the input has when the job starts
     * (everything produced before), so the job finishes; sinks, stages and their settings are the production ones.
     */
    static MeritStreamJob boundedJob(Configuration options) {
        KafkaSettings kafka = KafkaSettings.fromConfiguration(options);
        return new MeritStreamJob(
                KafkaConnectors.audioFrameSource(kafka)
                        .setBounded(OffsetsInitializer.latest())
                        .build(),
                MeritStreamJob.Sinks.kafka(kafka),
                IngestSettings.fromConfiguration(options),
                WindowingConfig.fromConfiguration(options),
                SpeakerReferenceConfig.fromConfiguration(options),
                InferenceOptions.settings(options),
                AnalyticsConfig.fromConfiguration(options),
                ConversationConfig.fromConfiguration(options));
    }

    /** Everything committed on the output topics, in partition and offset order. */
    record Outputs(
            List<EnhancedAudioChunk> enhancedAudio,
            List<EmotionEvent> emotionEvents,
            List<EmotionTrend> emotionTrends,
            List<EmotionAlert> emotionAlerts,
            List<DeadLetter> deadLetters,
            List<String> keys,
            List<String> recordIds) {}

    /**
     * Reads every output topic from the beginning to its end with {@code isolation.level=read_committed}: records of
     * open or aborted transactions are not returned. Run after the job has finished, when no transaction is open any
     * more, so the end offsets are final.
     */
    static Outputs readCommitted(EmbeddedKafkaBroker kafka, Configuration options) {
        KafkaSettings settings = KafkaSettings.fromConfiguration(options);
        List<String> keys = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        return new Outputs(
                read(kafka, settings.enhancedAudioTopic(), EnhancedAudioChunk.class, keys, ids),
                read(kafka, settings.emotionEventsTopic(), EmotionEvent.class, keys, ids),
                read(kafka, settings.emotionTrendsTopic(), EmotionTrend.class, keys, ids),
                read(kafka, settings.emotionAlertsTopic(), EmotionAlert.class, keys, ids),
                read(kafka, settings.dlqTopic(), DeadLetter.class, keys, ids),
                keys,
                ids);
    }

    private static <T extends SpecificRecord> List<T> read(
            EmbeddedKafkaBroker kafka, String topic, Class<T> type, List<String> keys, List<String> ids) {
        return readCommitted(kafka, topic, SingleObjectCodec.of(type)::decode, keys, ids);
    }

    /**
     * Every committed value of {@code topic}, decoded by {@code decode}, in partition and offset order; each record's
     * key (UTF-8, or null) is added to {@code keys} and its {@link RecordIds#HEADER} (or null) to {@code ids}.
     */
    static <T> List<T> readCommitted(
            EmbeddedKafkaBroker kafka, String topic, Function<byte[], T> decode, List<String> keys, List<String> ids) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
        List<T> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // Under read_committed the end offsets are the last stable offsets: nothing past an open transaction.
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("reading " + topic + " did not reach " + end);
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    records.add(decode.apply(record.value()));
                    keys.add(record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8));
                    var id = record.headers().lastHeader(RecordIds.HEADER);
                    ids.add(id == null ? null : new String(id.value(), StandardCharsets.UTF_8));
                }
            }
        }
        return records;
    }

    /** A WAV of a channel's enhanced audio, for a person to listen to when a test fails (target/, not committed). */
    static void writeWav(Path file, List<EnhancedAudioChunk> chunks) throws IOException {
        ByteArrayOutputStream pcm = new ByteArrayOutputStream();
        for (EnhancedAudioChunk chunk : chunks) {
            ByteBuffer payload = chunk.getPayload().duplicate();
            byte[] bytes = new byte[payload.remaining()];
            payload.get(bytes);
            pcm.write(bytes);
        }
        byte[] bytes = pcm.toByteArray();
        AudioFormat format = new AudioFormat(RATE, 16, 1, true, false);
        Files.createDirectories(file.getParent());
        try (AudioInputStream in =
                new AudioInputStream(new java.io.ByteArrayInputStream(bytes), format, bytes.length / 2)) {
            AudioSystem.write(in, javax.sound.sampled.AudioFileFormat.Type.WAVE, file.toFile());
        }
    }
}
