package io.meritstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One broker for the whole class (it takes seconds to start), a fresh topic per test. */
class EmbeddedKafkaBrokerITCase {
    private static EmbeddedKafkaBroker kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafkaBroker.builder().defaultPartitions(2).start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void producedRecordsAreConsumedInOrderPerPartition() throws Exception {
        kafka.createTopics(3, "plain");
        assertThat(kafka.admin()
                        .describeTopics(List.of("plain"))
                        .allTopicNames()
                        .get())
                .extractingByKey("plain")
                .satisfies(d -> assertThat(d.partitions()).hasSize(3));

        try (KafkaProducer<String, String> producer = producer(new Properties())) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>("plain", "session-a", "v" + i));
            }
            producer.flush();
        }

        List<ConsumerRecord<String, String>> records = consume("plain", "read_uncommitted", 10);
        assertThat(records).extracting(ConsumerRecord::value).containsExactly(valuesUpTo(10));
        // One key, one partition: the order of the producer is kept.
        assertThat(records)
                .extracting(ConsumerRecord::partition)
                .containsOnly(records.get(0).partition());
    }

    @Test
    void transactionsCommitAndAbortAsInProduction() throws Exception {
        kafka.createTopics("transactional");
        Properties props = new Properties();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "embedded-kafka-it");
        // What Flink's KafkaSink sets for EXACTLY_ONCE; more than a default broker allows.
        props.put(
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                String.valueOf(Duration.ofHours(1).toMillis()));
        try (KafkaProducer<String, String> producer = producer(props)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>("transactional", "k", "aborted"));
            producer.flush();
            producer.abortTransaction();

            producer.beginTransaction();
            for (int i = 0; i < 3; i++) {
                producer.send(new ProducerRecord<>("transactional", "k", "v" + i));
            }
            producer.commitTransaction();
        }

        assertThat(consume("transactional", "read_committed", 3))
                .extracting(ConsumerRecord::value)
                .containsExactly(valuesUpTo(3));
    }

    @Test
    void createTopicsUsesTheDefaultPartitionsAndRejectsExistingTopics() throws Exception {
        kafka.createTopics("defaults-a", "defaults-b");
        assertThat(kafka.admin()
                        .describeTopics(List.of("defaults-a", "defaults-b"))
                        .allTopicNames()
                        .get()
                        .values())
                .allSatisfy(d -> assertThat(d.partitions()).hasSize(2));

        assertThatThrownBy(() -> kafka.createTopics("defaults-a"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("defaults-a");
    }

    @Test
    void closeReleasesThePortAndDeletesTheLogDirectory() throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
        Path dir = broker.logDir();
        int port = Integer.parseInt(broker.bootstrapServers().substring("127.0.0.1:".length()));
        assertThat(dir).isDirectory();
        assertThat(portIsFree(port)).isFalse();

        broker.close();
        broker.close(); // idempotent

        assertThat(Files.exists(dir)).isFalse();
        assertThat(portIsFree(port)).isTrue();
        assertThatThrownBy(broker::admin).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void builderRejectsBadOptionsNamingThem() {
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().defaultPartitions(0))
                .hasMessageContaining("defaultPartitions");
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().startupTimeout(Duration.ZERO))
                .hasMessageContaining("startupTimeout");
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().brokerProperty("listeners", "PLAINTEXT://:9092"))
                .hasMessageContaining("listeners");
        assertThatThrownBy(() -> kafka.createTopics(0, "x")).hasMessageContaining("partitions");
    }

    private static KafkaProducer<String, String> producer(Properties extra) {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.putAll(extra);
        return new KafkaProducer<>(props);
    }

    private static List<ConsumerRecord<String, String>> consume(String topic, String isolation, int expected) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + topic);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (records.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            // Poll once more: anything beyond the expected records (an aborted one, say) must show up as a failure.
            consumer.poll(Duration.ofMillis(500)).forEach(records::add);
        }
        return records;
    }

    private static String[] valuesUpTo(int n) {
        String[] values = new String[n];
        for (int i = 0; i < n; i++) {
            values[i] = "v" + i;
        }
        return values;
    }

    private static boolean portIsFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
