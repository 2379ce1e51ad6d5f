package io.meritstream.cli.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Kafka client properties of the CLI's own producers and consumers: bootstrap servers plus an optional file. */
public final class ClientProperties {
    private ClientProperties() {}

    /**
     * {@code bootstrap.servers} plus every property of {@code file} (a Java properties file with e.g. {@code
     * security.protocol}, {@code sasl.mechanism}, {@code sasl.jaas.config}, {@code ssl.truststore.location}); the
     * file may be null.
     */
    public static Properties load(String bootstrapServers, Path file) throws IOException {
        Properties props = new Properties();
        if (file != null) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(in);
            }
        }
        props.put("bootstrap.servers", bootstrapServers);
        return props;
    }

    /**
     * {@code client} plus what every consumer of the job's outputs here needs: raw bytes (the records decode by their
     * fingerprint), committed records only ({@code isolation.level=read_committed}), and no automatic offset commits.
     * A fresh copy; the caller adds its group (or none), client id and starting position.
     */
    public static Properties committedBytesConsumer(Properties client) {
        Properties config = new Properties();
        config.putAll(client);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return config;
    }
}
