package io.meritstream.job;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * Where the job reads and writes Kafka. Read and validated by {@link KafkaSettings#fromConfiguration}; a bad value fails
 * the job at start-up with a message naming the option and what is allowed.
 */
public final class KafkaOptions {
    private KafkaOptions() {}

    /**
     * Prefix of Kafka client properties passed through unchanged to every consumer and producer of the job, e.g. {@code
     * kafka.properties.security.protocol=SASL_SSL} or {@code kafka.properties.sasl.jaas.config=...}.
     */
    public static final String PROPERTIES_PREFIX = "kafka.properties.";

    public static final ConfigOption<String> PROPERTIES_FILE = ConfigOptions.key("kafka.properties-file")
            .stringType()
            .noDefaultValue()
            .withDescription("A Java properties file of Kafka client properties (security.protocol, sasl.jaas.config,"
                    + " ssl.truststore.password, ...), read where the job is built (the 'flink run' host, or the"
                    + " JobManager in application mode), so that secrets need not be program arguments; a"
                    + " 'kafka.properties.<name>' option wins over the file's <name>. In both, a value may name an"
                    + " environment variable of that host as ${env:NAME}.");

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("kafka.bootstrap-servers")
            .stringType()
            .noDefaultValue()
            .withDescription("Kafka brokers to connect to, as host:port[,host:port...]. Required.");

    public static final ConfigOption<String> INPUT_TOPIC = ConfigOptions.key("kafka.input-topic")
            .stringType()
            .defaultValue("audio-frames")
            .withDescription("Topic of the audio frames (Avro AudioFrame, single-object encoding, key = sessionId).");

    public static final ConfigOption<String> DLQ_TOPIC = ConfigOptions.key("kafka.dlq-topic")
            .stringType()
            .defaultValue("audio-dlq")
            .withDescription("Dead-letter topic: every input record the job cannot use, as an Avro DeadLetter with the"
                    + " reason and the original bytes. Must differ from the input topic.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("kafka.group-id")
            .stringType()
            .defaultValue("merit-stream")
            .withDescription("Consumer group of the job. Flink tracks offsets in its checkpoints and commits them to"
                    + " this group on each checkpoint, for monitoring and for 'kafka.starting-offsets: committed'.");

    public static final ConfigOption<String> STARTING_OFFSETS = ConfigOptions.key("kafka.starting-offsets")
            .stringType()
            .defaultValue("committed")
            .withDescription("Where a job without a checkpoint starts reading: 'earliest', 'latest', 'committed' (the"
                    + " group's committed offsets; the earliest offset for partitions without one) or"
                    + " 'timestamp:<epoch ms>' (the first record at or after that time). A job restored from a"
                    + " checkpoint or savepoint always resumes from it.");

    public static final ConfigOption<String> ENHANCED_AUDIO_TOPIC = ConfigOptions.key("kafka.topic.enhanced-audio")
            .stringType()
            .defaultValue("enhanced-audio")
            .withDescription("Output topic of the enhanced audio (Avro EnhancedAudioChunk, key = sessionId).");

    public static final ConfigOption<String> EMOTION_EVENTS_TOPIC = ConfigOptions.key("kafka.topic.emotion-events")
            .stringType()
            .defaultValue("emotion-events")
            .withDescription("Output topic of the per-window emotion events (Avro EmotionEvent, key = sessionId).");

    public static final ConfigOption<String> EMOTION_TRENDS_TOPIC = ConfigOptions.key("kafka.topic.emotion-trends")
            .stringType()
            .defaultValue("emotion-trends")
            .withDescription("Output topic of the smoothed emotion trends and session summaries (Avro EmotionTrend,"
                    + " key = sessionId).");

    public static final ConfigOption<String> EMOTION_ALERTS_TOPIC = ConfigOptions.key("kafka.topic.emotion-alerts")
            .stringType()
            .defaultValue("emotion-alerts")
            .withDescription("Output topic of the negative-emotion alerts (Avro EmotionAlert, key = sessionId).");

    public static final ConfigOption<String> CALL_SUMMARIES_TOPIC = ConfigOptions.key("kafka.topic.call-summaries")
            .stringType()
            .defaultValue("call-summaries")
            .withDescription("Output topic of the conversation metrics per call (Avro CallSummary, PROGRESS while a"
                    + " call runs and FINAL at its end, key = sessionId).");

    public static final ConfigOption<DeliveryGuarantee> DELIVERY_GUARANTEE = ConfigOptions.key(
                    "kafka.delivery-guarantee")
            .enumType(DeliveryGuarantee.class)
            .noDefaultValue()
            .withDescription("Delivery guarantee of every topic without a 'kafka.delivery.<topic>' setting of its own"
                    + " (unset: each topic's default, see there): 'exactly-once' (Kafka transactions committed on each"
                    + " checkpoint: consumers that read with isolation.level=read_committed see every record once,"
                    + " but only after the checkpoint that covers it, so output lags by up to one checkpoint"
                    + " interval), 'at-least-once' (sent at once, flushed on each checkpoint; a restart may repeat"
                    + " records, which carry the same 'merit-record-id' header each time) or 'none'.");

    /** Per-topic delivery guarantees: {@code kafka.delivery.<topic role>}. */
    public static final String DELIVERY_PREFIX = "kafka.delivery.";

    public static final ConfigOption<DeliveryGuarantee> ENHANCED_AUDIO_DELIVERY = ConfigOptions.key(
                    DELIVERY_PREFIX + "enhanced-audio")
            .enumType(DeliveryGuarantee.class)
            .defaultValue(DeliveryGuarantee.EXACTLY_ONCE)
            .withDescription("Delivery guarantee of the enhanced-audio topic (unset: 'kafka.delivery-guarantee', else"
                    + " this default). Exactly-once, so that a player or recorder never sees a chunk twice; it"
                    + " becomes visible at each checkpoint.");

    public static final ConfigOption<DeliveryGuarantee> EMOTION_EVENTS_DELIVERY = ConfigOptions.key(
                    DELIVERY_PREFIX + "emotion-events")
            .enumType(DeliveryGuarantee.class)
            .defaultValue(DeliveryGuarantee.AT_LEAST_ONCE)
            .withDescription("Delivery guarantee of the emotion-events topic (unset: 'kafka.delivery-guarantee', else"
                    + " this default). At-least-once, so that events are visible as soon as they are computed, not"
                    + " at the next checkpoint; after a restart a consumer drops repeats by the 'merit-record-id'"
                    + " header.");

    public static final ConfigOption<DeliveryGuarantee> EMOTION_TRENDS_DELIVERY = ConfigOptions.key(
                    DELIVERY_PREFIX + "emotion-trends")
            .enumType(DeliveryGuarantee.class)
            .defaultValue(DeliveryGuarantee.AT_LEAST_ONCE)
            .withDescription("Delivery guarantee of the emotion-trends topic (unset: 'kafka.delivery-guarantee', else"
                    + " this default); at-least-once for the same reason as the events.");

    public static final ConfigOption<DeliveryGuarantee> EMOTION_ALERTS_DELIVERY = ConfigOptions.key(
                    DELIVERY_PREFIX + "emotion-alerts")
            .enumType(DeliveryGuarantee.class)
            .defaultValue(DeliveryGuarantee.AT_LEAST_ONCE)
            .withDescription("Delivery guarantee of the emotion-alerts topic (unset: 'kafka.delivery-guarantee', else"
                    + " this default); at-least-once, so that an alert reaches the supervisor within a second.");

    public static final ConfigOption<DeliveryGuarantee> CALL_SUMMARIES_DELIVERY = ConfigOptions.key(
                    DELIVERY_PREFIX + "call-summaries")
            .enumType(DeliveryGuarantee.class)
            .defaultValue(DeliveryGuarantee.AT_LEAST_ONCE)
            .withDescription("Delivery guarantee of the call-summaries topic (unset: 'kafka.delivery-guarantee', else"
                    + " this default); at-least-once, so that a live page shows a call's progress as it happens.");

    public static final ConfigOption<DeliveryGuarantee> DLQ_DELIVERY = ConfigOptions.key(DELIVERY_PREFIX + "dlq")
            .enumType(DeliveryGuarantee.class)
            .defaultValue(DeliveryGuarantee.EXACTLY_ONCE)
            .withDeprecatedKeys("kafka.dlq-delivery-guarantee")
            .withDescription("Delivery guarantee of the dead-letter topic (unset: 'kafka.delivery-guarantee', else"
                    + " this default).");

    public static final ConfigOption<ValueFormat> VALUE_FORMAT = ConfigOptions.key("kafka.value-format")
            .enumType(ValueFormat.class)
            .defaultValue(ValueFormat.AVRO)
            .withDescription("Value format of the four output topics and the dead-letter topic: 'avro' (Avro"
                    + " single-object encoding: the writer schema's fingerprint, then the binary body) or 'json' (one"
                    + " JSON object per record with the Avro field names; enums as strings, bytes as base64, optional"
                    + " fields as null or the value: readable by Flink SQL's and Kafka Connect's json formats). The"
                    + " input topic stays Avro.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions.key(
                    "kafka.transactional-id-prefix")
            .stringType()
            .noDefaultValue()
            .withDescription("Prefix of the Kafka transactional ids of the exactly-once sinks; each sink appends its"
                    + " topic. Must be unique per job among all jobs writing to the same Kafka cluster, and stable"
                    + " across restarts of one job (a restarted job aborts the transactions its predecessor left"
                    + " open by these ids). Unset: the value of 'kafka.group-id'.");
}
