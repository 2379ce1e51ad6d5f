package io.meritstream.cli;

import io.meritstream.cli.kafka.ClientProperties;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine.Option;

/** The Kafka cluster a command talks to (a picocli mixin). */
public final class KafkaConnection {
    @Option(
            names = {"-b", "--bootstrap-servers"},
            paramLabel = "HOST:PORT[,...]",
            defaultValue = "localhost:9092",
            description = "Kafka brokers (default: ${DEFAULT-VALUE}).")
    String bootstrapServers;

    @Option(
            names = "--client-properties",
            paramLabel = "FILE",
            description = "Kafka client properties for SASL/SSL etc. (security.protocol, sasl.mechanism,"
                    + " sasl.jaas.config, ssl.truststore.location, ...), as a Java properties file.")
    Path clientProperties;

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public Path clientPropertiesFile() {
        return clientProperties;
    }

    public Properties properties() {
        try {
            return ClientProperties.load(bootstrapServers, clientProperties);
        } catch (IOException e) {
            throw new CliException("cannot read --client-properties " + clientProperties + ": " + e.getMessage(), 2, e);
        }
    }
}
