package io.meritstream.job;

import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the ITCases that run the job against Kafka share: an in-process Kafka broker (two partitions per topic unless
 * told otherwise) and a Flink MiniCluster with one TaskManager of {@code slots} slots, both for the whole test class.
 * Register it in a static field with {@link RegisterExtension}:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);
 * }</pre>
 *
 * <p>The MiniCluster starts first and stops last, around the broker. Inside a test, {@link #environment} (like {@link
 * StreamExecutionEnvironment#getExecutionEnvironment}) submits to the MiniCluster.
 */
public final class KafkaFlinkCluster
        implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {
    private final int slots;
    private final MiniClusterExtension flink;
    private EmbeddedKafkaBroker kafka;

    private KafkaFlinkCluster(int slots, Configuration clusterConfiguration) {
        this.slots = slots;
        this.flink = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                .setNumberTaskManagers(1)
                .setNumberSlotsPerTaskManager(slots)
                .setConfiguration(clusterConfiguration)
                .build());
    }

    public static KafkaFlinkCluster withSlots(int slots) {
        return withSlots(slots, new Configuration());
    }

    /** With {@code clusterConfiguration} for the MiniCluster itself (metric reporters, for example). */
    public static KafkaFlinkCluster withSlots(int slots, Configuration clusterConfiguration) {
        return new KafkaFlinkCluster(slots, clusterConfiguration);
    }

    /** The broker; started before the first test of the class. */
    public EmbeddedKafkaBroker kafka() {
        return kafka;
    }

    /** An environment on the MiniCluster with {@code configuration}, its parallelism set to use every slot. */
    public StreamExecutionEnvironment environment(Configuration configuration) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(configuration);
        env.setParallelism(slots);
        return env;
    }

    /** A short random suffix for names that must be new to this broker (topics, consumer groups). */
    public static String freshSuffix() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        flink.beforeAll(context);
        kafka = EmbeddedKafkaBroker.builder().defaultPartitions(2).start();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        flink.beforeEach(context);
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        flink.afterEach(context);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            if (kafka != null) {
                kafka.close();
                kafka = null;
            }
        } finally {
            flink.afterAll(context);
        }
    }
}
