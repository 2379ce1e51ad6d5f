package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaSettingsTest {

    @Test
    void defaultsWithOnlyTheBrokers() {
        KafkaSettings settings = KafkaSettings.fromConfiguration(conf(Map.of("kafka.bootstrap-servers", "b1:9092")));
        assertThat(settings.bootstrapServers()).isEqualTo("b1:9092");
        assertThat(settings.inputTopic()).isEqualTo("audio-frames");
        assertThat(settings.dlqTopic()).isEqualTo("audio-dlq");
        assertThat(settings.groupId()).isEqualTo("merit-stream");
        assertThat(settings.enhancedAudioTopic()).isEqualTo("enhanced-audio");
        assertThat(settings.emotionEventsTopic()).isEqualTo("emotion-events");
        assertThat(settings.emotionTrendsTopic()).isEqualTo("emotion-trends");
        assertThat(settings.emotionAlertsTopic()).isEqualTo("emotion-alerts");
        // The topics people watch are visible at once; the audio and the dead letters are exactly once.
        assertThat(settings.emotionEventsDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThat(settings.emotionTrendsDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThat(settings.emotionAlertsDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThat(settings.enhancedAudioDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(settings.dlqDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(settings.transactionalIdPrefix()).isEqualTo("merit-stream");
        assertThat(settings.startingOffsets().getAutoOffsetResetStrategy()).isEqualTo(OffsetResetStrategy.EARLIEST);
        assertThat(settings.clientProperties()).isEmpty();
    }

    @Test
    void outputTopicsDeliveryAndTransactionalIdPrefixAreConfigurable() {
        KafkaSettings settings = KafkaSettings.fromConfiguration(conf(Map.of(
                "kafka.bootstrap-servers", "b1:9092",
                "kafka.topic.enhanced-audio", "ea",
                "kafka.topic.emotion-events", "ee",
                "kafka.topic.emotion-trends", "et",
                "kafka.topic.emotion-alerts", "al",
                "kafka.delivery-guarantee", "at-least-once",
                "kafka.transactional-id-prefix", "job-7")));
        assertThat(List.of(
                        settings.enhancedAudioTopic(),
                        settings.emotionEventsTopic(),
                        settings.emotionTrendsTopic(),
                        settings.emotionAlertsTopic()))
                .containsExactly("ea", "ee", "et", "al");
        // The blanket option applies to every topic without its own.
        assertThat(List.of(
                        settings.dlqDelivery(),
                        settings.enhancedAudioDelivery(),
                        settings.emotionEventsDelivery(),
                        settings.emotionTrendsDelivery(),
                        settings.emotionAlertsDelivery()))
                .containsOnly(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThat(settings.transactionalIdPrefix()).isEqualTo("job-7");
    }

    @Test
    void aTopicsOwnDeliveryGuaranteeWinsOverTheBlanketOne() {
        KafkaSettings settings = KafkaSettings.fromConfiguration(conf(Map.of(
                "kafka.bootstrap-servers", "b1:9092",
                "kafka.delivery-guarantee", "exactly-once",
                "kafka.delivery.emotion-alerts", "at-least-once",
                "kafka.delivery.dlq", "none")));
        assertThat(settings.emotionAlertsDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThat(settings.dlqDelivery()).isEqualTo(DeliveryGuarantee.NONE);
        assertThat(settings.emotionEventsDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(settings.emotionTrendsDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(settings.enhancedAudioDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);

        // Without the blanket option, the rest keep their defaults.
        KafkaSettings one = KafkaSettings.fromConfiguration(
                conf(Map.of("kafka.bootstrap-servers", "b1:9092", "kafka.delivery.enhanced-audio", "at-least-once")));
        assertThat(one.enhancedAudioDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThat(one.dlqDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(one.emotionEventsDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    }

    @Test
    void theOldDeadLetterOptionStillWorks() {
        KafkaSettings settings = KafkaSettings.fromConfiguration(
                conf(Map.of("kafka.bootstrap-servers", "b1:9092", "kafka.dlq-delivery-guarantee", "none")));
        assertThat(settings.dlqDelivery()).isEqualTo(DeliveryGuarantee.NONE);
    }

    @Test
    void everyTopicMustBeDistinct() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(conf(
                        Map.of("kafka.bootstrap-servers", "b1:9092", "kafka.topic.enhanced-audio", "audio-frames"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(
                        "Option 'kafka.topic.enhanced-audio' must differ from 'kafka.input-topic' (both are"
                                + " 'audio-frames')");
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b1:9092", "kafka.topic.emotion-trends", "bad topic"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kafka.topic.emotion-trends");
    }

    @Test
    void anEmptyTransactionalIdPrefixNamesTheOption() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b1:9092", "kafka.transactional-id-prefix", " "))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Option 'kafka.transactional-id-prefix' must not be empty");
    }

    @Test
    void passThroughPropertiesLoseTheirPrefixAndAreNotLogged() {
        KafkaSettings settings = KafkaSettings.fromConfiguration(conf(Map.of(
                "kafka.bootstrap-servers", "b1:9093,[::1]:9093",
                "kafka.properties.security.protocol", "SASL_SSL",
                "kafka.properties.sasl.mechanism", "PLAIN",
                "kafka.properties.sasl.jaas.config", "secret-config",
                "kafka.delivery.dlq", "at-least-once")));
        assertThat(settings.clientProperties())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("sasl.jaas.config", "secret-config")
                .hasSize(3);
        assertThat(settings.toString()).contains("sasl.jaas.config").doesNotContain("secret-config");
        assertThat(settings.dlqDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    }

    @Test
    void secretsComeFromAPropertiesFileOrTheEnvironmentNotTheCommandLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("kafka-client.properties");
        Files.writeString(
                file,
                "security.protocol=SASL_SSL\n"
                        + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + " username=\"merit\" password=\"${env:MERIT_KAFKA_PASSWORD}\";\n"
                        + "ssl.truststore.location=/etc/merit/truststore.p12\n");
        Map<String, String> environment = Map.of("MERIT_KAFKA_PASSWORD", "s3cr$t\\1");
        KafkaSettings settings = KafkaSettings.fromConfiguration(
                conf(Map.of(
                        "kafka.bootstrap-servers", "b1:9093",
                        "kafka.properties-file", file.toString(),
                        // An option wins over the file.
                        "kafka.properties.ssl.truststore.location", "/opt/truststore.p12")),
                environment::get);
        assertThat(settings.clientProperties())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("ssl.truststore.location", "/opt/truststore.p12")
                .containsEntry(
                        "sasl.jaas.config",
                        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"merit\""
                                + " password=\"s3cr$t\\1\";");
        assertThat(settings.toString()).doesNotContain("s3cr");
    }

    @Test
    void aMissingFileOrVariableIsNamed(@TempDir Path dir) {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(conf(Map.of(
                        "kafka.bootstrap-servers",
                        "b1:9093",
                        "kafka.properties-file",
                        dir.resolve("absent.properties").toString()))))
                .hasMessageStartingWith("Option 'kafka.properties-file': cannot read '");
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of(
                                "kafka.bootstrap-servers", "b1:9093",
                                "kafka.properties.sasl.jaas.config", "x password=\"${env:NOT_SET_ANYWHERE}\";")),
                        name -> null))
                .hasMessage("Kafka property 'sasl.jaas.config' refers to environment variable 'NOT_SET_ANYWHERE',"
                        + " which is not set where the job is built");
    }

    @Test
    void theFileMayNotSetWhatTheJobOwns(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.properties");
        Files.writeString(file, "bootstrap.servers=elsewhere:9092\n");
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b1:9093", "kafka.properties-file", file.toString()))))
                .hasMessageContaining("Property 'bootstrap.servers' of 'kafka.properties-file'")
                .hasMessageContaining("use 'kafka.bootstrap-servers'");
    }

    @Test
    void startingOffsetsAcceptTheFourForms() {
        assertThat(KafkaSettings.parseStartingOffsets("earliest").getAutoOffsetResetStrategy())
                .isEqualTo(OffsetResetStrategy.EARLIEST);
        assertThat(KafkaSettings.parseStartingOffsets(" LATEST ").getAutoOffsetResetStrategy())
                .isEqualTo(OffsetResetStrategy.LATEST);
        assertThat(KafkaSettings.parseStartingOffsets("committed")).isNotNull();
        OffsetsInitializer timestamp = KafkaSettings.parseStartingOffsets("timestamp:1700000000000");
        assertThat(timestamp.getClass().getSimpleName()).contains("Timestamp");
    }

    @Test
    void missingBrokersNameTheOption() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(conf(Map.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "Option 'kafka.bootstrap-servers' is required: the Kafka brokers as host:port[,host:port...]");
    }

    @Test
    void brokerWithoutPortIsRefused() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(conf(Map.of("kafka.bootstrap-servers", "b1:9092,b2"))))
                .hasMessage("Option 'kafka.bootstrap-servers' must be host:port[,host:port...] with ports 1-65535,"
                        + " got 'b1:9092,b2' (entry 'b2')");
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(conf(Map.of("kafka.bootstrap-servers", "b1:99999"))))
                .hasMessageContaining("entry 'b1:99999'");
    }

    @Test
    void badStartingOffsetsListTheAllowedValues() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b:1", "kafka.starting-offsets", "newest"))))
                .hasMessage("Option 'kafka.starting-offsets' must be one of earliest, latest, committed or"
                        + " timestamp:<epoch ms>, got 'newest'");
        assertThatThrownBy(() -> KafkaSettings.parseStartingOffsets("timestamp:yesterday"))
                .hasMessage("Option 'kafka.starting-offsets' has timestamp 'yesterday', which is not epoch milliseconds"
                        + " (a whole number >= 0); allowed: earliest, latest, committed or timestamp:<epoch ms>");
        assertThatThrownBy(() -> KafkaSettings.parseStartingOffsets("timestamp:-5"))
                .hasMessageContaining("timestamp '-5'");
    }

    @Test
    void badTopicsAreRefused() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b:1", "kafka.input-topic", "audio frames"))))
                .hasMessage("Option 'kafka.input-topic' must be a Kafka topic name (1-249 characters from a-z A-Z 0-9"
                        + " . _ -), got 'audio frames'");
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b:1", "kafka.dlq-topic", "audio-frames"))))
                .hasMessage("Option 'kafka.dlq-topic' must differ from 'kafka.input-topic' (both are 'audio-frames'):"
                        + " dead letters would be read back as input");
    }

    @Test
    void emptyGroupIsRefused() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b:1", "kafka.group-id", " "))))
                .hasMessage("Option 'kafka.group-id' must not be empty: the job's consumer group");
    }

    @Test
    void reservedPassThroughPropertiesPointToTheTypedOption() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b:1", "kafka.properties.bootstrap.servers", "c:2"))))
                .hasMessage("Option 'kafka.properties.bootstrap.servers' is not allowed as a pass-through: use"
                        + " 'kafka.bootstrap-servers'");
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b:1", "kafka.properties.group.id", "g"))))
                .hasMessageContaining("use 'kafka.group-id'");
    }

    @Test
    void unknownDeliveryGuaranteeNamesTheOption() {
        assertThatThrownBy(() -> KafkaSettings.fromConfiguration(
                        conf(Map.of("kafka.bootstrap-servers", "b:1", "kafka.delivery.emotion-events", "MAYBE_ONCE"))))
                .hasMessageContaining("kafka.delivery.emotion-events");
    }

    @Test
    void sourceAndSinkBuildFromTheSettings() {
        KafkaSettings settings = KafkaSettings.fromConfiguration(conf(Map.of(
                "kafka.bootstrap-servers", "b:1",
                "kafka.properties.security.protocol", "SSL")));
        // The connectors keep what they were built with in private fields: read them, so that a lost property fails.
        Properties source = field(KafkaConnectors.audioFrameSource(settings).build(), "props", Properties.class);
        assertThat(source)
                .containsEntry("bootstrap.servers", "b:1")
                .containsEntry("security.protocol", "SSL")
                .containsEntry("group.id", "merit-stream");
        KafkaSink<?> dlq = KafkaConnectors.deadLetterSink(settings);
        assertThat(field(dlq, "kafkaProducerConfig", Properties.class))
                .containsEntry("bootstrap.servers", "b:1")
                .containsEntry("security.protocol", "SSL")
                .containsEntry("transaction.timeout.ms", KafkaConnectors.DEFAULT_TRANSACTION_TIMEOUT_MS);
        assertThat(field(dlq, "deliveryGuarantee", DeliveryGuarantee.class)).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(field(dlq, "transactionalIdPrefix", String.class)).isEqualTo("merit-stream-audio-dlq");
        KafkaSink<?> audio = KafkaConnectors.enhancedAudioSink(settings);
        assertThat(field(audio, "deliveryGuarantee", DeliveryGuarantee.class))
                .isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(field(audio, "transactionalIdPrefix", String.class)).isEqualTo("merit-stream-enhanced-audio");
        KafkaSink<?> events = KafkaConnectors.emotionEventsSink(settings);
        assertThat(field(events, "deliveryGuarantee", DeliveryGuarantee.class))
                .isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    }

    private static <T> T field(Object target, String name, Class<T> type) {
        for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
            try {
                java.lang.reflect.Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return type.cast(f.get(target));
            } catch (NoSuchFieldException e) {
                // look in the superclass
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError(target.getClass() + " has no field " + name + " (the connector changed)");
    }

    private static Configuration conf(Map<String, String> values) {
        return Configuration.fromMap(values);
    }
}
