package io.meritstream.cli.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

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
}
