package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.ingest.G711;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Python client ({@code clients/python/merit_client.py}: Debian's python3-confluent-kafka and python3-avro,
 * the published schemas only) against the real job: it produces call-01's agent as 16-bit PCM and its customer as
 * G.711 mu-law, the job runs on the MiniCluster, and the client reads every output topic read_committed and decodes
 * every record by its fingerprint. Its records must be exactly those a Java reader sees.
 */
class PythonClientITCase {
    private static final Path CLIENT = Path.of("../clients/python/merit_client.py");
    private static final String PYTHON = "/usr/bin/python3";

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void aPythonProducerAndConsumerUseTheJobThroughThePublishedSchemas(@TempDir Path checkpoints) throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String suffix = KafkaFlinkCluster.freshSuffix();
        Configuration options = CallPipeline.jobOptions(kafka, suffix);
        KafkaSettings topics = KafkaSettings.fromConfiguration(options);
        String session = "py-call-01-" + suffix;
        CallPipeline.Call call = CallPipeline.loadCall("call-01");
        for (String channel : CallPipeline.CHANNELS) {
            List<String> args = new ArrayList<>(List.of(
                    "produce",
                    "-b",
                    kafka.bootstrapServers(),
                    "--topic",
                    topics.inputTopic(),
                    "--session",
                    session,
                    "--channel",
                    channel,
                    CallPipeline.callWav("call-01", channel).toString()));
            if (channel.equals("customer")) {
                args.add("--mulaw");
            }
            python(args);
        }

        StreamExecutionEnvironment env = CLUSTER.environment(CallPipeline.flinkOptions(checkpoints));
        env.enableCheckpointing(1_000);
        CallPipeline.boundedJob(options).execute(env);
        CallPipeline.Outputs java = CallPipeline.readCommitted(kafka, options);

        List<JsonNode> lines = python(List.of(
                "consume",
                "-b",
                kafka.bootstrapServers(),
                "--group",
                "py-" + suffix,
                "--idle-s",
                "5",
                topics.enhancedAudioTopic(),
                topics.emotionEventsTopic(),
                topics.emotionTrendsTopic(),
                topics.emotionAlertsTopic(),
                topics.dlqTopic()));

        assertThat(java.deadLetters()).as("every Python frame was understood").isEmpty();
        Map<String, Long> perTopic = lines.stream()
                .collect(Collectors.groupingBy(l -> l.get("topic").asText(), TreeMap::new, Collectors.counting()));
        assertThat(perTopic)
                .containsEntry(
                        topics.enhancedAudioTopic(), (long) java.enhancedAudio().size())
                .containsEntry(
                        topics.emotionEventsTopic(), (long) java.emotionEvents().size())
                .containsEntry(
                        topics.emotionTrendsTopic(), (long) java.emotionTrends().size())
                .doesNotContainKey(topics.dlqTopic());
        assertThat(perTopic.getOrDefault(topics.emotionAlertsTopic(), 0L))
                .isEqualTo(java.emotionAlerts().size());

        // the emotion events the Python client decoded are the Java reader's, field for field
        List<String> pythonEvents = lines.stream()
                .filter(l -> l.get("record_type").asText().equals("EmotionEvent"))
                .map(l -> l.get("record"))
                .map(r -> r.get("channel").asText() + "/" + r.get("windowIndex").asLong() + "/"
                        + r.get("label").asText() + "/" + r.get("windowStartMs").asLong())
                .sorted()
                .toList();
        List<String> javaEvents = java.emotionEvents().stream()
                .map(PythonClientITCase::describe)
                .sorted()
                .toList();
        assertThat(pythonEvents).isNotEmpty().isEqualTo(javaEvents);
        // each line names its record id, the header the job wrote
        assertThat(lines.stream()
                        .filter(l -> l.get("record_type").asText().equals("EmotionEvent"))
                        .map(l -> l.get("record_id").asText())
                        .sorted()
                        .toList())
                .isEqualTo(java.emotionEvents().stream()
                        .map(RecordIds::of)
                        .sorted()
                        .toList());
        assertThat(pythonEvents).anyMatch(e -> e.startsWith("agent/")).anyMatch(e -> e.startsWith("customer/"));

        // the enhanced audio is as long as the input, for the PCM16 and the mu-law channel alike
        Map<String, Long> enhancedSamples = new TreeMap<>();
        for (JsonNode line : lines) {
            if (line.get("record_type").asText().equals("EnhancedAudioChunk")) {
                JsonNode r = line.get("record");
                enhancedSamples.merge(
                        r.get("channel").asText(),
                        (long) Base64.getDecoder().decode(r.get("payload").asText()).length / 2,
                        Long::sum);
            }
        }
        for (String channel : CallPipeline.CHANNELS) {
            assertThat(enhancedSamples.get(channel)).as(channel).isEqualTo((long) call.samples(channel));
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void thePythonConsumerPrintsEachRecordIdOnce() throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String topic = "py-repeats-" + KafkaFlinkCluster.freshSuffix();
        kafka.createTopics(1, topic);
        // Windows 0, 1, 2, then 1 and 2 again, as an at-least-once sink writes them after a restart.
        RecordSerializationSchema<EmotionEvent> serializer =
                new RecordSerializationSchema<>(topic, EmotionEvent.class, e -> null, RecordIds::of, ValueFormat.AVRO);
        Properties p = kafka.clientProperties();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long window : new long[] {0, 1, 2, 1, 2}) {
                producer.send(serializer.serialize(event(window), null, null));
            }
        }
        List<String> consume = List.of("consume", "-b", kafka.bootstrapServers(), "--idle-s", "3", topic);
        List<JsonNode> once = python(with(consume, "--group", "py-once-" + topic));
        assertThat(once.stream().map(l -> l.get("record").get("windowIndex").asLong()))
                .containsExactly(0L, 1L, 2L);
        List<JsonNode> all = python(with(consume, "--group", "py-all-" + topic, "--keep-repeats"));
        assertThat(all).hasSize(5);
    }

    private static List<String> with(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all;
    }

    private static EmotionEvent event(long window) {
        return EmotionEvent.newBuilder()
                .setSessionId("py-call")
                .setChannel("customer")
                .setWindowIndex(window)
                .setWindowStartMs(window * 1000)
                .setWindowEndMs(window * 1000 + 3000)
                .setWindowStartSample(window * 16_000)
                .setWindowEndSample(window * 16_000 + 48_000)
                .setProbabilities(new EmotionProbabilities(0.7f, 0.1f, 0.1f, 0.1f))
                .setLabel(Emotion.ANGRY)
                .setConfidence(0.7f)
                .setSpeechRatio(0.9f)
                .setModelVersion("test")
                .setLatencyMs(30)
                .build();
    }

    @Test
    void thePythonMuLawEncoderIsTheJobs() throws Exception {
        String table = run(List.of(
                PYTHON,
                "-c",
                "import sys; sys.path.insert(0, sys.argv[1]); import merit_client;"
                        + " print(bytes(merit_client.mulaw(s) for s in range(-32768, 32768)).hex())",
                CLIENT.getParent().toString()));
        byte[] java = new byte[65536];
        for (int s = -32768; s < 32768; s++) {
            java[s + 32768] = G711.linearToUlaw(s);
        }
        byte[] python = HexFormat.of().parseHex(table.strip());
        assertThat(python).hasSize(java.length);
        for (int i = 0; i < java.length; i++) {
            int sample = i - 32768;
            assertThat(python[i]).as("mu-law code of sample %d", sample).isEqualTo(java[i]);
        }
    }

    private static String describe(EmotionEvent e) {
        return e.getChannel() + "/" + e.getWindowIndex() + "/" + e.getLabel() + "/" + e.getWindowStartMs();
    }

    /** Runs the client with {@code args}; its stdout as JSON lines. */
    private static List<JsonNode> python(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON, CLIENT.toString()));
        command.addAll(args);
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : run(command).split("\n")) {
            if (!line.isBlank()) {
                lines.add(json.readTree(line));
            }
        }
        return lines;
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("python-client", ".out");
        try {
            Process process = new ProcessBuilder(command)
                    .redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            assertThat(process.waitFor(4, TimeUnit.MINUTES))
                    .as("%s finished", command)
                    .isTrue();
            assertThat(process.exitValue()).as("exit status of %s", command).isZero();
            return Files.readString(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
