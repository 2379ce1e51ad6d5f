package io.meritstream.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.job.KafkaFlinkCluster;
import io.meritstream.job.MeritStreamJob;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every metric that a Grafana dashboard ({@code dashboards/grafana/dashboards/*.json}) or a Prometheus rule
 * ({@code dashboards/prometheus/rules.yml}) queries must be exported by the running job; otherwise a panel stays
 * empty or an alert can never fire, silently. This runs the whole job ({@link MeritStreamJob#fromConfiguration}, Kafka
 * in and out, the fixture model) on a MiniCluster with Flink's Prometheus reporter, pushes a short call through,
 * scrapes {@code /metrics} and compares the {@code flink_*} names found in those files with the scrape, and checks
 * the labels the queries group by.
 */
class ExportedMetricsITCase {
    /** Failsafe runs in the module directory; the dashboards live beside the modules. */
    private static final Path DASHBOARDS = Path.of("..", "dashboards");

    private static final int PROMETHEUS_PORT = freePort();

    private static final String[] OUTPUTS = {"enhanced-audio", "emotion-events", "emotion-trends", "emotion-alerts"};

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2, reporterConfiguration());

    /** The same reporter settings as deploy/local's config.yaml, on a port of our own. */
    private static Configuration reporterConfiguration() {
        Configuration conf = new Configuration();
        conf.setString(
                "metrics.reporter.prom.factory.class", "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
        conf.setString("metrics.reporter.prom.port", Integer.toString(PROMETHEUS_PORT));
        return conf;
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES) // a job that never produces its metrics fails here, not the build
    void everyQueriedMetricIsExported() throws Exception {
        Set<String> queried = queriedMetricNames();
        // A parser that finds nothing would make this test pass vacuously.
        assertThat(queried).as("flink_* names in dashboards/ and rules").hasSizeGreaterThan(15);

        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String suffix = KafkaFlinkCluster.freshSuffix();
        String input = "audio-frames-" + suffix;
        String dlq = "audio-dlq-" + suffix;
        kafka.createTopics(2, input, dlq);
        for (String output : OUTPUTS) {
            kafka.createTopics(2, output + "-" + suffix);
        }
        produceCall(input, "call-metrics");
        // One bad record, so that the dead-letter path runs too (its counters exist from the start regardless).
        send(input, "bad-call", new byte[] {1, 2, 3});

        Path model = Path.of(ExportedMetricsITCase.class
                .getResource("/fixtures/sparse_merit_fixture.onnx")
                .toURI());
        // The job exactly as the clusters run it (MeritStreamJob.main's path), with the tiny fixture model.
        Map<String, String> options = new HashMap<>();
        options.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        options.put("kafka.input-topic", input);
        options.put("kafka.dlq-topic", dlq);
        options.put("kafka.group-id", "metrics-" + suffix);
        options.put("kafka.starting-offsets", "earliest");
        for (String output : OUTPUTS) {
            options.put("kafka.topic." + output, output + "-" + suffix);
        }
        options.put("inference.model.path", model.toString());
        // Checkpoints feed the checkpoint panels and commit the exactly-once sinks.
        options.put("execution.checkpointing.interval", "1s");
        Configuration conf = Configuration.fromMap(options);
        StreamExecutionEnvironment env = CLUSTER.environment(conf);
        MeritStreamJob.fromConfiguration(conf).build(env);
        JobClient client = env.executeAsync(MeritStreamJob.JOB_NAME);
        try {
            // Wait until the call went all the way through (events counted) and every queried name appeared or
            // the time is up; then report what is missing. Some metrics (checkpoints, Kafka fetch lag) only exist
            // once the job has run a while, hence the polling.
            Set<String> exported = Set.of();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (System.nanoTime() < deadline) {
                String scrape = scrape();
                exported = sampleNames(scrape);
                if (exported.containsAll(queried) && eventsCounted(scrape) > 0) {
                    break;
                }
                Thread.sleep(1_000);
            }
            Set<String> missing = new TreeSet<>(queried);
            missing.removeAll(exported);
            assertThat(missing)
                    .as("metrics queried by dashboards/rules but not exported (exported: %s)", new TreeSet<>(exported))
                    .isEmpty();
            String scrape = scrape();
            assertThat(eventsCounted(scrape)).as("emotion events counted").isPositive();
            // The labels the dashboards and rules select or group by, on the metrics that carry them. The reporter
            // replaces characters outside [a-zA-Z0-9:_] in label values, so the rules match job_name "merit_stream".
            String op = "flink_taskmanager_job_task_operator_";
            String jobLabel = MeritStreamJob.JOB_NAME.replaceAll("[^a-zA-Z0-9:_]", "_");
            assertThat(jobLabel).isEqualTo("merit_stream");
            assertThat(scrape)
                    .contains(op + "reason_deadLetters{")
                    .containsPattern(op + "reason_deadLetters\\{[^}]*reason=\"UNDECODABLE\"")
                    .containsPattern(op + "task_expert_expertRoutedFrames\\{[^}]*expert=\"0\"")
                    .containsPattern(op + "task_expert_expertRoutedFrames\\{[^}]*task=\"se\"")
                    .containsPattern(op + "inferenceLatencyMs\\{[^}]*quantile=\"0.99\"")
                    .containsPattern(op + "model_version_modelInfo\\{[^}]*model_version=\"")
                    .containsPattern(op + "framesDecoded\\{[^}]*job_name=\"" + jobLabel + "\"")
                    .containsPattern("flink_taskmanager_job_task_backPressuredTimeMsPerSecond\\{[^}]*task_name=\"")
                    .containsPattern("flink_jobmanager_job_runningTime\\{[^}]*job_name=\"" + jobLabel + "\"");
        } finally {
            client.cancel().get();
        }
    }

    /** Every {@code flink_*} identifier in the dashboards' JSON and the Prometheus rule files. */
    static Set<String> queriedMetricNames() throws IOException {
        Pattern name = Pattern.compile("\\bflink_[A-Za-z0-9_]+");
        Set<String> names = new TreeSet<>();
        try (Stream<Path> files = Files.walk(DASHBOARDS)) {
            for (Path file : files.filter(ExportedMetricsITCase::isQueryFile).toList()) {
                Matcher m = name.matcher(Files.readString(file));
                while (m.find()) {
                    names.add(m.group());
                }
            }
        }
        return names;
    }

    private static boolean isQueryFile(Path file) {
        String f = file.getFileName().toString();
        // Rule unit tests (*_test.yml) hold input series, not queries: they are checked by promtool against the rules.
        return (f.endsWith(".json") || f.endsWith(".yml")) && !f.endsWith("_test.yml") && !f.equals("prometheus.yml");
    }

    /** Names of the samples in a Prometheus text exposition (comments skipped, labels cut off). */
    static Set<String> sampleNames(String exposition) {
        Set<String> names = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int end = 0;
            while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
                end++;
            }
            names.add(line.substring(0, end));
        }
        return names;
    }

    private static double eventsCounted(String exposition) {
        double sum = 0;
        String prefix = "flink_taskmanager_job_task_operator_" + MetricNames.EMOTION_EVENTS + "{";
        for (String line : exposition.split("\n")) {
            if (line.startsWith(prefix)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    private static String scrape() throws IOException, InterruptedException {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> response = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PROMETHEUS_PORT + "/metrics"))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    /** Two channels of 4.5 s of a voiced tone in 20 ms PCM frames, each closed by end of stream. */
    private static void produceCall(String topic, String session) {
        SingleObjectCodec<AudioFrame> codec = SingleObjectCodec.of(AudioFrame.class);
        int frameSamples = 320;
        int frames = 225;
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int seq = 0; seq < frames; seq++) {
                for (String channel : new String[] {"agent", "customer"}) {
                    ByteBuffer payload = ByteBuffer.allocate(frameSamples * 2).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < frameSamples; i++) {
                        double t = (seq * frameSamples + i) / 16_000.0;
                        double f0 = channel.equals("agent") ? 140 : 210;
                        payload.putShort((short)
                                (6_000 * Math.sin(2 * Math.PI * f0 * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t))));
                    }
                    AudioFrame frame = AudioFrame.newBuilder()
                            .setSessionId(session)
                            .setChannel(channel)
                            .setSeq(seq)
                            .setTimestampMs(1_700_000_000_000L + seq * 20L)
                            .setSampleRate(16_000)
                            .setEncoding(AudioEncoding.PCM_S16LE)
                            .setPayload(ByteBuffer.wrap(payload.array()))
                            .setEndOfStream(seq == frames - 1)
                            .build();
                    producer.send(
                            new ProducerRecord<>(topic, session.getBytes(StandardCharsets.UTF_8), codec.encode(frame)));
                }
            }
            producer.flush();
        }
    }

    private static void send(String topic, String key, byte[] value) {
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value));
            producer.flush();
        }
    }

    private static KafkaProducer<byte[], byte[]> producer() {
        Properties props = CLUSTER.kafka().clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return new KafkaProducer<>(props);
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
