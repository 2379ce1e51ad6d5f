package io.meritstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AlertKind;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code merit watch} against a real broker (no Flink: the records are written here): the page's snapshot holds what
 * the topics hold from the lookback on, a taken port is a usage error naming the option, for {@code watch} and for
 * {@code demo}'s page.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class WatchCommandITCase {
    private static EmbeddedKafkaBroker kafka;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafkaBroker.builder().defaultPartitions(2).start();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void thePageShowsTheCallsOfTheLookbackAndWhatComesAfter() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String events = "events-" + suffix;
        String trends = "trends-" + suffix;
        String alerts = "alerts-" + suffix;
        String summaries = "summaries-" + suffix;
        // The summaries topic does not exist yet when watch starts: it is picked up when it appears.
        kafka.createTopics(events, trends, alerts);
        send(events, "call-1", TestRecords.event("call-1", "customer", 0, 0.2f));
        send(trends, "call-1", TestRecords.trend("call-1", "customer", 0, 0.2f));
        send(alerts, "call-1", TestRecords.alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 7_000));

        int port = freePort();
        int quietPort = freePort();
        AtomicInteger code = new AtomicInteger(-1);
        AtomicInteger quietCode = new AtomicInteger(-1);
        String[] topics = {
            "--events-topic", events, "--trends-topic", trends, "--alerts-topic", alerts, "--summaries-topic", summaries
        };
        Thread watch = new Thread(() -> code.set(MeritCli.execute(concat(
                new String[] {"watch", "-b", kafka.bootstrapServers(), "--port", String.valueOf(port)}, topics))));
        // From now on only: what was written before does not show.
        Thread quiet = new Thread(() -> quietCode.set(MeritCli.execute(concat(
                new String[] {
                    "watch", "-b", kafka.bootstrapServers(), "--port", String.valueOf(quietPort), "--lookback", "0"
                },
                topics))));
        watch.start();
        quiet.start();
        try {
            URI snapshot = URI.create("http://127.0.0.1:" + port + "/snapshot.json");
            URI quietSnapshot = URI.create("http://127.0.0.1:" + quietPort + "/snapshot.json");
            awaitSnapshot(snapshot, s -> s.contains("NEGATIVE_SPIKE_START") && s.contains("\"kind\":\"event\""));
            // Let the quiet one start reading, then both get the new call.
            awaitSnapshot(quietSnapshot, s -> s.startsWith("[{\"kind\":\"reset\"}"));
            Thread.sleep(3_000);
            kafka.createTopics(summaries);
            send(events, "call-2", TestRecords.event("call-2", "agent", 0, 0.1f));
            send(summaries, "call-2", TestRecords.summary("call-2", CallSummaryKind.FINAL, 40_000));

            String all = awaitSnapshot(snapshot, s -> s.contains("\"kind\":\"finished\",\"sessionId\":\"call-2\""));
            assertThat(all).contains("\"sessionId\":\"call-1\"");
            String recent =
                    awaitSnapshot(quietSnapshot, s -> s.contains("\"kind\":\"finished\",\"sessionId\":\"call-2\""));
            assertThat(recent).doesNotContain("call-1");
            HttpResponse<String> page = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(page.body()).contains("merit-stream supervisor");
        } finally {
            watch.interrupt();
            quiet.interrupt();
            watch.join(30_000);
            quiet.join(30_000);
        }
        assertThat(code.get()).isEqualTo(130);
        assertThat(quietCode.get()).isEqualTo(130);
    }

    @Test
    void aTakenPortIsAUsageErrorThatNamesTheOption(@TempDir Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            String port = String.valueOf(taken.getLocalPort());
            String watchErr =
                    stderrOf(() -> assertThat(MeritCli.execute("watch", "-b", kafka.bootstrapServers(), "--port", port))
                            .isEqualTo(2));
            assertThat(watchErr).contains("127.0.0.1:" + port, "choose another --port", "--port 0");
            String demoErr = stderrOf(() -> assertThat(MeritCli.execute(
                            "demo", "--page-port", port, "--out", dir.toString(), "--calls", "../data/calls"))
                    .isEqualTo(2));
            assertThat(demoErr).contains("127.0.0.1:" + port, "choose another --page-port", "--page-port 0");
        }
    }

    private String awaitSnapshot(URI uri, Predicate<String> done) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
                        .body();
                if (done.test(last)) {
                    return last;
                }
            } catch (java.io.IOException e) {
                // Not listening yet.
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the snapshot at " + uri + " never got there; last: " + last);
    }

    private static <T extends SpecificRecord> void send(String topic, String key, T record) throws Exception {
        @SuppressWarnings("unchecked")
        SingleObjectCodec<T> codec = SingleObjectCodec.of((Class<T>) record.getClass());
        Properties p = kafka.clientProperties();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), codec.encode(record)))
                    .get();
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** What {@code body} wrote to stderr (picocli's error stream is System.err, read when the command line is built). */
    private static String stderrOf(ThrowingRunnable body) throws Exception {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setErr(saved);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }
}
