package io.meritstream.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kafka broker running inside this JVM: one KRaft node that is both broker and controller, listening on free
 * ports of 127.0.0.1, storing its log in a temporary directory that {@link #close()} deletes.
 *
 * <p>It is the same broker code as a production Kafka (the {@code kafka_2.13} jar from Maven Central), so transactions,
 * consumer groups and {@code read_committed} behave as they do in production; only replication is absent. Used by the
 * ITCases, the demo and the benchmarks.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.start()) {
 *     kafka.createTopics(4, "audio-frames", "audio-dlq");
 *     props.put("bootstrap.servers", kafka.bootstrapServers());
 *     ...
 * }
 * }</pre>
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    private static final String LOOPBACK = "127.0.0.1";
    private static final int NODE_ID = 1;

    /** The properties that define the node itself; a caller overriding them would break the single-node setup. */
    private static final Set<String> OWNED_PROPERTIES = Set.of(
            "process.roles",
            "node.id",
            "controller.quorum.voters",
            "controller.quorum.bootstrap.servers",
            "listeners",
            "advertised.listeners",
            "listener.security.protocol.map",
            "controller.listener.names",
            "inter.broker.listener.name",
            "log.dirs",
            "log.dir",
            "metadata.log.dir");

    // Copied from the builder, which stays mutable and may start further brokers.
    private final int defaultPartitions;
    private final Duration timeout;
    private final Path logDir;
    private final int brokerPort;
    private final SaslSsl saslSsl;
    private final KafkaRaftServer server;
    private Admin admin;
    private boolean closed;

    private EmbeddedKafkaBroker(Builder options, Path logDir, int brokerPort, SaslSsl saslSsl, KafkaRaftServer server) {
        this.defaultPartitions = options.defaultPartitions;
        this.timeout = options.startupTimeout;
        this.logDir = logDir;
        this.brokerPort = brokerPort;
        this.saslSsl = saslSsl;
        this.server = server;
    }

    /**
     * The SASL_SSL listener ({@link Builder#saslSsl()}): TLS with a certificate made for this broker (CN localhost, SAN
     * 127.0.0.1), SASL PLAIN with one user.
     *
     * @param port the listener's port on 127.0.0.1
     * @param truststore a PKCS12 truststore holding the broker's certificate
     */
    public record SaslSsl(int port, Path truststore, String truststorePassword, String user, String password) {
        /** What a client needs besides {@code bootstrap.servers}, as Kafka client properties. */
        public Properties clientProperties() {
            Properties props = new Properties();
            props.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
            props.put("sasl.mechanism", "PLAIN");
            props.put(
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
                            + "\" password=\"" + password + "\";");
            props.put("ssl.truststore.location", truststore.toString());
            props.put("ssl.truststore.password", truststorePassword);
            props.put("ssl.truststore.type", "PKCS12");
            return props;
        }

        public String bootstrapServers() {
            return LOOPBACK + ":" + port;
        }
    }

    /** The SASL_SSL listener; fails unless the broker was built with {@link Builder#saslSsl()}. */
    public SaslSsl saslSsl() {
        if (saslSsl == null) {
            throw new IllegalStateException("this broker has no SASL_SSL listener: build it with saslSsl()");
        }
        return saslSsl;
    }

    /** Starts a broker with the default options. */
    public static EmbeddedKafkaBroker start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@code 127.0.0.1:<port>}, for the {@code bootstrap.servers} of clients. */
    public String bootstrapServers() {
        return LOOPBACK + ":" + brokerPort;
    }

    /** The temporary directory holding the broker's configuration and log; deleted by {@link #close()}. */
    public Path logDir() {
        return logDir;
    }

    /** Properties with {@code bootstrap.servers} set, to which a test adds its serializers and the like. */
    public Properties clientProperties() {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return props;
    }

    /** Creates topics with {@link Builder#defaultPartitions(int)} partitions each. */
    public void createTopics(String... names) {
        createTopics(defaultPartitions, names);
    }

    /**
     * Creates the topics (replication factor 1) and returns once the broker serves them, so that a producer or consumer
     * started next sees every partition with its leader. Fails if a topic exists already: tests use fresh topics.
     */
    public void createTopics(int partitions, String... names) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1, was " + partitions);
        }
        if (names.length == 0) {
            throw new IllegalArgumentException("no topic names given");
        }
        List<NewTopic> topics = new ArrayList<>();
        for (String name : names) {
            topics.add(new NewTopic(Objects.requireNonNull(name, "topic name"), partitions, (short) 1));
        }
        Admin client = admin();
        await(client.createTopics(topics).all(), "creating topics " + Arrays.toString(names));
        awaitLeaders(client, Arrays.asList(names), partitions);
    }

    /**
     * An admin client of this broker, created on first use and closed with the broker. Callers must not close it.
     */
    public synchronized Admin admin() {
        ensureOpen();
        if (admin == null) {
            admin = Admin.create(clientProperties());
        }
        return admin;
    }

    /** Shuts the broker down, waits for it to stop, and deletes its log directory. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
            }
        } finally {
            try {
                server.shutdown();
                server.awaitShutdown();
            } finally {
                deleteRecursively(logDir);
            }
        }
        LOG.info("Embedded Kafka broker on {} stopped", bootstrapServers());
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the embedded Kafka broker is closed");
        }
    }

    private void awaitLeaders(Admin client, Collection<String> names, int partitions) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                Map<String, TopicDescription> descriptions =
                        client.describeTopics(names).allTopicNames().get(5, TimeUnit.SECONDS);
                boolean ready = descriptions.values().stream()
                        .allMatch(d -> d.partitions().size() == partitions
                                && d.partitions().stream().allMatch(p -> p.leader() != null));
                if (ready && hostsEveryPartition(client, names, partitions)) {
                    return;
                }
            } catch (ExecutionException | TimeoutException e) {
                // The broker's metadata may lag the controller by a moment; retry until the deadline.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for topics " + names, e);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topics " + names + " have no leader after " + timeout);
            }
            sleep(50);
        }
    }

    /**
     * Whether the broker's log directories hold every partition. The metadata can name the leader a moment before the
     * broker has made itself leader of the partition: a producer sending then gets NOT_LEADER_OR_FOLLOWER, and an
     * idempotent one could be left retrying OUT_OF_ORDER_SEQUENCE_NUMBER until its delivery timeout (seen once in 4
     * test runs of `merit replay` on a loaded machine).
     */
    private static boolean hostsEveryPartition(Admin client, Collection<String> names, int partitions)
            throws ExecutionException, TimeoutException, InterruptedException {
        List<Integer> brokers = new ArrayList<>();
        client.describeCluster().nodes().get(5, TimeUnit.SECONDS).forEach(n -> brokers.add(n.id()));
        Set<TopicPartition> hosted = new HashSet<>();
        client.describeLogDirs(brokers).allDescriptions().get(5, TimeUnit.SECONDS).values().stream()
                .flatMap(dirs -> dirs.values().stream())
                .forEach(dir -> hosted.addAll(dir.replicaInfos().keySet()));
        for (String name : names) {
            for (int p = 0; p < partitions; p++) {
                if (!hosted.contains(new TopicPartition(name, p))) {
                    return false;
                }
            }
        }
        return true;
    }

    private <T> T await(KafkaFuture<T> future, String what) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + what, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(what + " did not finish within " + timeout, e);
        }
    }

    /** Options of the broker; {@link #start()} validates them and starts it. */
    public static final class Builder {
        private int defaultPartitions = 1;
        private Duration startupTimeout = Duration.ofSeconds(60);
        private Path parentDir;
        private final Map<String, String> brokerProperties = new LinkedHashMap<>();
        private boolean saslSsl;

        private Builder() {}

        /**
         * Adds a SASL_SSL listener beside the PLAINTEXT one (which the broker itself, the admin client and tests that
         * need no security keep using): a key pair and certificate made with the JDK's keytool in the log directory,
         * SASL PLAIN with user {@code merit} and a random password. See {@link EmbeddedKafkaBroker#saslSsl()}.
         */
        public Builder saslSsl() {
            this.saslSsl = true;
            return this;
        }

        /** Partitions of {@link EmbeddedKafkaBroker#createTopics(String...)} and of auto-created topics (default 1). */
        public Builder defaultPartitions(int partitions) {
            if (partitions < 1) {
                throw new IllegalArgumentException("defaultPartitions must be at least 1, was " + partitions);
            }
            this.defaultPartitions = partitions;
            return this;
        }

        /** How long to wait for the broker to serve requests, and for new topics to get leaders (default 60 s). */
        public Builder startupTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "startupTimeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startupTimeout must be positive, was " + timeout);
            }
            this.startupTimeout = timeout;
            return this;
        }

        /** Where the temporary log directory is created (default: {@code java.io.tmpdir}). */
        public Builder parentDir(Path dir) {
            this.parentDir = Objects.requireNonNull(dir, "parentDir");
            return this;
        }

        /**
         * Any broker configuration, e.g. {@code auto.create.topics.enable=false} or {@code transaction.max.timeout.ms}.
         * The listeners, node id, quorum and log directory belong to this class and cannot be overridden.
         */
        public Builder brokerProperty(String key, String value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value of " + key);
            if (OWNED_PROPERTIES.contains(key)) {
                throw new IllegalArgumentException("broker property " + key
                        + " is set by EmbeddedKafkaBroker and cannot be overridden; owned: " + OWNED_PROPERTIES);
            }
            brokerProperties.put(key, value);
            return this;
        }

        /**
         * Starts the broker and returns once it serves requests. The free ports are picked just before the broker binds
         * them, so another process may take one in between; that start is retried with new ports.
         */
        public EmbeddedKafkaBroker start() {
            RuntimeException last = null;
            for (int attempt = 1; attempt <= 3; attempt++) {
                try {
                    return startOnce();
                } catch (RuntimeException e) {
                    last = e;
                    LOG.warn("Starting the embedded Kafka broker failed (attempt {} of 3)", attempt, e);
                }
            }
            throw last;
        }

        private EmbeddedKafkaBroker startOnce() {
            Path logDir = createLogDir();
            KafkaRaftServer server = null;
            EmbeddedKafkaBroker broker = null;
            try {
                int brokerPort = freePort();
                int controllerPort = freePort();
                while (controllerPort == brokerPort) {
                    controllerPort = freePort();
                }
                SaslSsl secure = null;
                if (saslSsl) {
                    int port = freePort();
                    while (port == brokerPort || port == controllerPort) {
                        port = freePort();
                    }
                    secure = TlsFiles.create(logDir.resolve("tls"), port);
                }
                Properties props = serverProperties(logDir, brokerPort, controllerPort, secure);
                format(props, logDir);
                long startNanos = System.nanoTime();
                server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
                server.startup();
                broker = new EmbeddedKafkaBroker(this, logDir, brokerPort, secure, server);
                broker.awaitServing();
                LOG.info(
                        "Embedded Kafka broker on {} up in {} ms, log in {}",
                        broker.bootstrapServers(),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos),
                        logDir);
                return broker;
            } catch (RuntimeException e) {
                if (broker != null) {
                    closeQuietly(broker);
                } else if (server != null) {
                    shutdownQuietly(server);
                }
                deleteRecursively(logDir);
                throw e;
            }
        }

        private Properties serverProperties(Path logDir, int brokerPort, int controllerPort, SaslSsl secure) {
            Properties props = new Properties();
            props.put("process.roles", "broker,controller");
            props.put("node.id", String.valueOf(NODE_ID));
            props.put("controller.quorum.voters", NODE_ID + "@" + LOOPBACK + ":" + controllerPort);
            String plaintext = "PLAINTEXT://" + LOOPBACK + ":" + brokerPort;
            String sasl = secure == null ? "" : ",SASL_SSL://" + LOOPBACK + ":" + secure.port();
            props.put("listeners", plaintext + sasl + ",CONTROLLER://" + LOOPBACK + ":" + controllerPort);
            props.put("advertised.listeners", plaintext + sasl);
            props.put(
                    "listener.security.protocol.map",
                    "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" + (secure == null ? "" : ",SASL_SSL:SASL_SSL"));
            if (secure != null) {
                props.put("sasl.enabled.mechanisms", "PLAIN");
                props.put(
                        "listener.name.sasl_ssl.plain.sasl.jaas.config",
                        "org.apache.kafka.common.security.plain.PlainLoginModule required user_" + secure.user() + "=\""
                                + secure.password() + "\";");
                props.put(
                        "listener.name.sasl_ssl.ssl.keystore.location",
                        TlsFiles.keystore(secure).toString());
                props.put("listener.name.sasl_ssl.ssl.keystore.password", secure.truststorePassword());
                props.put("listener.name.sasl_ssl.ssl.key.password", secure.truststorePassword());
                props.put("listener.name.sasl_ssl.ssl.keystore.type", "PKCS12");
            }
            props.put("controller.listener.names", "CONTROLLER");
            props.put("inter.broker.listener.name", "PLAINTEXT");
            props.put("log.dirs", dataDir(logDir).toString());
            // A single node cannot replicate: the internal topics must accept replication factor 1.
            props.put("offsets.topic.replication.factor", "1");
            props.put("transaction.state.log.replication.factor", "1");
            props.put("transaction.state.log.min.isr", "1");
            props.put("share.coordinator.state.topic.replication.factor", "1");
            props.put("share.coordinator.state.topic.min.isr", "1");
            // Fewer internal partitions start faster; one node gains nothing from 50.
            props.put("offsets.topic.num.partitions", "4");
            props.put("transaction.state.log.num.partitions", "4");
            // Flink's KafkaSink gives EXACTLY_ONCE producers a 1 h transaction timeout; the broker's default maximum
            // (15 min) would refuse them, as Flink's documentation warns for production brokers.
            props.put(
                    "transaction.max.timeout.ms",
                    String.valueOf(Duration.ofHours(1).toMillis()));
            // Consumer groups in tests have one member that should not wait 3 s for others.
            props.put("group.initial.rebalance.delay.ms", "0");
            props.put("num.partitions", String.valueOf(defaultPartitions));
            props.putAll(brokerProperties);
            return props;
        }

        private Path createLogDir() {
            try {
                return parentDir == null
                        ? Files.createTempDirectory("embedded-kafka-")
                        : Files.createTempDirectory(parentDir, "embedded-kafka-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the embedded Kafka log directory", e);
            }
        }
    }

    /** The broker's data, in a subdirectory so that the configuration file beside it is not mistaken for a log. */
    private static Path dataDir(Path logDir) {
        return logDir.resolve("data");
    }

    /** Formats the log directory with a fresh cluster id, as {@code kafka-storage.sh format} does. */
    private static void format(Properties props, Path logDir) {
        Path configFile = logDir.resolve("server.properties");
        try (OutputStream out = Files.newOutputStream(configFile)) {
            props.store(out, "embedded Kafka broker");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + configFile, e);
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int rc;
        try (PrintStream print = new PrintStream(output, true, StandardCharsets.UTF_8)) {
            String clusterId = Uuid.randomUuid().toString();
            rc = StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", configFile.toString()}, print);
        }
        if (rc != 0) {
            throw new IllegalStateException("formatting the Kafka log directory " + logDir + " failed (exit " + rc
                    + "): " + output.toString(StandardCharsets.UTF_8));
        }
    }

    /** Waits until the broker answers a metadata request that lists itself. */
    private void awaitServing() {
        long deadline = System.nanoTime() + timeout.toNanos();
        Admin client = admin();
        while (true) {
            try {
                if (!client.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                    return;
                }
            } catch (ExecutionException | TimeoutException e) {
                // Not serving yet.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the broker", e);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the embedded Kafka broker did not serve requests within " + timeout);
            }
            sleep(50);
        }
    }

    /** A port that was free a moment ago: bound to port 0 on the loopback address and released. */
    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port on " + LOOPBACK, e);
        }
    }

    private static void closeQuietly(EmbeddedKafkaBroker broker) {
        try {
            broker.close();
        } catch (RuntimeException e) {
            LOG.warn("Closing a half-started embedded Kafka broker failed", e);
        }
    }

    private static void shutdownQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.warn("Shutting down a half-started embedded Kafka broker failed", e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the embedded Kafka log directory " + dir, e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
