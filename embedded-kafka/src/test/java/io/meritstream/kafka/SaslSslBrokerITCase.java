package io.meritstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The SASL_SSL listener: TLS with the broker's own certificate, SASL PLAIN, and a wrong password refused. */
class SaslSslBrokerITCase {
    private static EmbeddedKafkaBroker kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafkaBroker.builder().saslSsl().start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void clientsWithTheCredentialsProduceAndConsumeOverTls() throws Exception {
        kafka.createTopics("secure");
        EmbeddedKafkaBroker.SaslSsl secure = kafka.saslSsl();
        assertThat(secure.bootstrapServers()).isNotEqualTo(kafka.bootstrapServers());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                withSecurity(secure.clientProperties(), secure), new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>("secure", "k", "over tls")).get();
        }
        Properties props = withSecurity(secure.clientProperties(), secure);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "secure-reader");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of("secure"));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (values.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
        }
        assertThat(values).containsExactly("over tls");
    }

    @Test
    void aWrongPasswordIsRefused() {
        kafka.createTopics("secure-refused");
        EmbeddedKafkaBroker.SaslSsl secure = kafka.saslSsl();
        EmbeddedKafkaBroker.SaslSsl wrong = new EmbeddedKafkaBroker.SaslSsl(
                secure.port(), secure.truststore(), secure.truststorePassword(), secure.user(), "not-the-password");
        Properties props = withSecurity(wrong.clientProperties(), wrong);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("secure-refused", "k", "v"))
                            .get())
                    .hasRootCauseInstanceOf(SaslAuthenticationException.class);
        } catch (SaslAuthenticationException e) {
            // send() itself may throw it while fetching metadata: refused either way.
        }
    }

    private static Properties withSecurity(Properties security, EmbeddedKafkaBroker.SaslSsl secure) {
        security.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, secure.bootstrapServers());
        return security;
    }
}
