package io.meritstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.cli.audio.WavAudio;
import io.meritstream.job.MeritStreamJob;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path over SASL_SSL only: replay writes a call, the job reads it and writes its outputs, collect reads them
 * back, each through the broker's SASL_SSL listener (TLS with a certificate made for the test, SASL PLAIN), with the
 * security settings and the password from a properties file, never from an argument.
 */
class SecureKafkaITCase {
    private static final Path FIXTURE = Path.of("../flink-job/src/test/resources/fixtures/sparse_merit_fixture.onnx");

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void replayJobAndCollectRunOverSaslSsl(@TempDir Path dir) throws Exception {
        try (EmbeddedKafkaBroker kafka =
                EmbeddedKafkaBroker.builder().defaultPartitions(2).saslSsl().start()) {
            kafka.createTopics(
                    "audio-frames",
                    "audio-dlq",
                    "enhanced-audio",
                    "emotion-events",
                    "emotion-trends",
                    "emotion-alerts");
            EmbeddedKafkaBroker.SaslSsl secure = kafka.saslSsl();
            Path clientProperties = dir.resolve("kafka-client.properties");
            try (Writer out = Files.newBufferedWriter(clientProperties, StandardCharsets.UTF_8)) {
                secure.clientProperties().store(out, "SASL_SSL client");
            }

            Path calls = Files.createDirectories(dir.resolve("calls"));
            int samples = 5 * 16_000 + 123;
            WavAudio.writePcm16(calls.resolve("secure-call.agent.wav"), tone(samples, 220), 16_000);
            WavAudio.writePcm16(calls.resolve("secure-call.customer.wav"), tone(samples, 330), 16_000);
            assertThat(MeritCli.execute(
                            "replay",
                            calls.toString(),
                            "-b",
                            secure.bootstrapServers(),
                            "--client-properties",
                            clientProperties.toString(),
                            "--speed",
                            "0"))
                    .isZero();

            Configuration options = Configuration.fromMap(Map.of(
                    "kafka.bootstrap-servers", secure.bootstrapServers(),
                    "kafka.properties-file", clientProperties.toString(),
                    "kafka.group-id", "secure-job",
                    "kafka.starting-offsets", "earliest",
                    "inference.model.path", FIXTURE.toAbsolutePath().toString()));
            Configuration flink = new Configuration();
            flink.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            flink.set(
                    CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                    dir.resolve("checkpoints").toUri().toString());
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
            env.setParallelism(2);
            env.enableCheckpointing(1_000);
            MeritStreamJob.fromConfiguration(options).build(env);
            JobClient job = env.executeAsync("merit-stream over SASL_SSL");
            Path collected = dir.resolve("collected");
            try {
                assertThat(MeritCli.execute(
                                "collect",
                                "-b",
                                secure.bootstrapServers(),
                                "--client-properties",
                                clientProperties.toString(),
                                "--out",
                                collected.toString(),
                                "--idle-seconds",
                                "20",
                                "--max-seconds",
                                "180"))
                        .isZero();
            } finally {
                job.cancel().get(1, TimeUnit.MINUTES);
            }

            ObjectMapper json = new ObjectMapper();
            List<JsonNode> trends = new ArrayList<>();
            for (String line : Files.readAllLines(collected.resolve("emotion-trends.jsonl"))) {
                trends.add(json.readTree(line));
            }
            assertThat(trends.stream().filter(t -> t.get("kind").asText().equals("SESSION_SUMMARY")))
                    .as("one summary per channel, through SASL_SSL both ways")
                    .hasSize(2);
            assertThat(Files.readAllLines(collected.resolve("emotion-events.jsonl")))
                    .isNotEmpty();
            for (String channel : List.of("agent", "customer")) {
                WavAudio.Audio enhanced = WavAudio.read(collected.resolve("secure-call." + channel + ".enhanced.wav"));
                assertThat(enhanced.frames()).as(channel).isEqualTo(samples);
            }
        }
    }

    private static float[] tone(int n, double hz) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (0.3 * Math.sin(2 * Math.PI * hz * i / 16_000));
        }
        return x;
    }
}
