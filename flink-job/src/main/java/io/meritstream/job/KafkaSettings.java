package io.meritstream.job;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/** The validated {@link KafkaOptions}. Immutable and serializable. */
public final class KafkaSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9a-fA-F:.]+\\]|[^\\s:,\\[\\]]+):(\\d{1,5})");
    private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}");
    private static final String OFFSETS_ALLOWED = "earliest, latest, committed or timestamp:<epoch ms>";

    /**
     * Client properties the job sets from its own options or that the connectors own; passing them through {@code
     * kafka.properties.*} would silently fight the typed option, so it is refused with a pointer to the right one.
     */
    private static final Map<String, String> RESERVED_PROPERTIES = Map.of(
            "bootstrap.servers",
            "use '" + KafkaOptions.BOOTSTRAP_SERVERS.key() + "'",
            "group.id",
            "use '" + KafkaOptions.GROUP_ID.key() + "'",
            "key.deserializer",
            "the source reads raw bytes",
            "value.deserializer",
            "the source reads raw bytes",
            "key.serializer",
            "the sinks write raw bytes",
            "value.serializer",
            "the sinks write raw bytes",
            "transactional.id",
            "the exactly-once sinks derive it from '" + KafkaOptions.TRANSACTIONAL_ID_PREFIX.key() + "'");

    private final String bootstrapServers;
    private final String inputTopic;
    private final String dlqTopic;
    private final String enhancedAudioTopic;
    private final String emotionEventsTopic;
    private final String emotionTrendsTopic;
    private final String emotionAlertsTopic;
    private final String callSummariesTopic;
    private final String groupId;
    private final String startingOffsets;
    private final DeliveryGuarantee dlqDelivery;
    private final DeliveryGuarantee enhancedAudioDelivery;
    private final DeliveryGuarantee emotionEventsDelivery;
    private final DeliveryGuarantee emotionTrendsDelivery;
    private final DeliveryGuarantee emotionAlertsDelivery;
    private final DeliveryGuarantee callSummariesDelivery;
    private final ValueFormat valueFormat;
    private final String transactionalIdPrefix;
    private final TreeMap<String, String> clientProperties;

    private KafkaSettings(
            String bootstrapServers,
            Map<ConfigOption<String>, String> topics,
            String groupId,
            String startingOffsets,
            Map<ConfigOption<DeliveryGuarantee>, DeliveryGuarantee> delivery,
            ValueFormat valueFormat,
            String transactionalIdPrefix,
            TreeMap<String, String> clientProperties) {
        this.bootstrapServers = bootstrapServers;
        this.inputTopic = topics.get(KafkaOptions.INPUT_TOPIC);
        this.dlqTopic = topics.get(KafkaOptions.DLQ_TOPIC);
        this.enhancedAudioTopic = topics.get(KafkaOptions.ENHANCED_AUDIO_TOPIC);
        this.emotionEventsTopic = topics.get(KafkaOptions.EMOTION_EVENTS_TOPIC);
        this.emotionTrendsTopic = topics.get(KafkaOptions.EMOTION_TRENDS_TOPIC);
        this.emotionAlertsTopic = topics.get(KafkaOptions.EMOTION_ALERTS_TOPIC);
        this.callSummariesTopic = topics.get(KafkaOptions.CALL_SUMMARIES_TOPIC);
        this.groupId = groupId;
        this.startingOffsets = startingOffsets;
        this.dlqDelivery = delivery.get(KafkaOptions.DLQ_DELIVERY);
        this.enhancedAudioDelivery = delivery.get(KafkaOptions.ENHANCED_AUDIO_DELIVERY);
        this.emotionEventsDelivery = delivery.get(KafkaOptions.EMOTION_EVENTS_DELIVERY);
        this.emotionTrendsDelivery = delivery.get(KafkaOptions.EMOTION_TRENDS_DELIVERY);
        this.emotionAlertsDelivery = delivery.get(KafkaOptions.EMOTION_ALERTS_DELIVERY);
        this.callSummariesDelivery = delivery.get(KafkaOptions.CALL_SUMMARIES_DELIVERY);
        this.valueFormat = valueFormat;
        this.transactionalIdPrefix = transactionalIdPrefix;
        this.clientProperties = clientProperties;
    }

    /**
     * Reads and validates the Kafka options and the {@code kafka.properties.*} pass-through.
     *
     * @throws IllegalArgumentException naming the offending option, its value and what is allowed
     */
    public static KafkaSettings fromConfiguration(ReadableConfig conf) {
        return fromConfiguration(conf, System::getenv);
    }

    /** As {@link #fromConfiguration(ReadableConfig)}, with {@code environment} for the {@code ${env:NAME}} values. */
    static KafkaSettings fromConfiguration(ReadableConfig conf, Function<String, String> environment) {
        String servers = conf.getOptional(KafkaOptions.BOOTSTRAP_SERVERS)
                .map(String::trim)
                .orElse("");
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("Option '" + KafkaOptions.BOOTSTRAP_SERVERS.key()
                    + "' is required: the Kafka brokers as host:port[,host:port...]");
        }
        for (String server : servers.split(",", -1)) {
            var matcher = HOST_PORT.matcher(server.trim());
            int port = matcher.matches() ? Integer.parseInt(matcher.group(2)) : -1;
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("Option '" + KafkaOptions.BOOTSTRAP_SERVERS.key()
                        + "' must be host:port[,host:port...] with ports 1-65535, got '" + servers + "' (entry '"
                        + server.trim() + "')");
            }
        }
        String input = topic(conf, KafkaOptions.INPUT_TOPIC);
        String dlq = topic(conf, KafkaOptions.DLQ_TOPIC);
        if (input.equals(dlq)) {
            throw new IllegalArgumentException("Option '" + KafkaOptions.DLQ_TOPIC.key() + "' must differ from '"
                    + KafkaOptions.INPUT_TOPIC.key() + "' (both are '" + input + "'): dead letters would be read"
                    + " back as input");
        }
        // Each topic carries one record type: two options naming one topic would mix types (or feed output back
        // into the input), so every topic must be distinct.
        Map<ConfigOption<String>, String> topics = new LinkedHashMap<>();
        topics.put(KafkaOptions.INPUT_TOPIC, input);
        topics.put(KafkaOptions.DLQ_TOPIC, dlq);
        for (ConfigOption<String> option : List.of(
                KafkaOptions.ENHANCED_AUDIO_TOPIC,
                KafkaOptions.EMOTION_EVENTS_TOPIC,
                KafkaOptions.EMOTION_TRENDS_TOPIC,
                KafkaOptions.EMOTION_ALERTS_TOPIC,
                KafkaOptions.CALL_SUMMARIES_TOPIC)) {
            String topic = topic(conf, option);
            for (Map.Entry<ConfigOption<String>, String> other : topics.entrySet()) {
                if (other.getValue().equals(topic)) {
                    throw new IllegalArgumentException("Option '" + option.key() + "' must differ from '"
                            + other.getKey().key() + "' (both are '" + topic + "'): every topic carries one kind of"
                            + " record");
                }
            }
            topics.put(option, topic);
        }
        String group = conf.get(KafkaOptions.GROUP_ID).trim();
        if (group.isEmpty()) {
            throw new IllegalArgumentException(
                    "Option '" + KafkaOptions.GROUP_ID.key() + "' must not be empty: the job's consumer group");
        }
        String offsets = conf.get(KafkaOptions.STARTING_OFFSETS).trim();
        parseStartingOffsets(offsets); // validates
        String prefix = conf.getOptional(KafkaOptions.TRANSACTIONAL_ID_PREFIX)
                .map(String::trim)
                .orElse(group);
        if (prefix.isEmpty()) {
            throw new IllegalArgumentException("Option '" + KafkaOptions.TRANSACTIONAL_ID_PREFIX.key()
                    + "' must not be empty: unset it to use '" + KafkaOptions.GROUP_ID.key() + "', or name the job");
        }
        // A topic's own option, else the blanket one, else the topic's default: whoever sets
        // 'kafka.delivery-guarantee' gets it on every topic they did not name.
        Optional<DeliveryGuarantee> blanket = conf.getOptional(KafkaOptions.DELIVERY_GUARANTEE);
        Map<ConfigOption<DeliveryGuarantee>, DeliveryGuarantee> delivery = new LinkedHashMap<>();
        for (ConfigOption<DeliveryGuarantee> option : List.of(
                KafkaOptions.DLQ_DELIVERY,
                KafkaOptions.ENHANCED_AUDIO_DELIVERY,
                KafkaOptions.EMOTION_EVENTS_DELIVERY,
                KafkaOptions.EMOTION_TRENDS_DELIVERY,
                KafkaOptions.EMOTION_ALERTS_DELIVERY,
                KafkaOptions.CALL_SUMMARIES_DELIVERY)) {
            delivery.put(option, conf.getOptional(option).or(() -> blanket).orElse(option.defaultValue()));
        }

        TreeMap<String, String> properties = new TreeMap<>();
        for (Map.Entry<String, String> entry : conf.toMap().entrySet()) {
            if (!entry.getKey().startsWith(KafkaOptions.PROPERTIES_PREFIX)) {
                continue;
            }
            String property = entry.getKey().substring(KafkaOptions.PROPERTIES_PREFIX.length());
            if (property.isBlank()) {
                throw new IllegalArgumentException("Option '" + entry.getKey() + "' names no Kafka property: write '"
                        + KafkaOptions.PROPERTIES_PREFIX + "<property>', e.g. '" + KafkaOptions.PROPERTIES_PREFIX
                        + "security.protocol'");
            }
            String reserved = RESERVED_PROPERTIES.get(property);
            if (reserved != null) {
                throw new IllegalArgumentException(
                        "Option '" + entry.getKey() + "' is not allowed as a pass-through: " + reserved);
            }
            properties.put(property, entry.getValue());
        }
        Optional<String> file = conf.getOptional(KafkaOptions.PROPERTIES_FILE);
        if (file.isPresent()) {
            Properties fromFile = new Properties();
            try (Reader in = Files.newBufferedReader(Path.of(file.get().trim()), StandardCharsets.UTF_8)) {
                fromFile.load(in);
            } catch (IOException | InvalidPathException e) {
                throw new IllegalArgumentException("Option '" + KafkaOptions.PROPERTIES_FILE.key() + "': cannot read '"
                        + file.get() + "' (" + e + ")");
            }
            for (String property : fromFile.stringPropertyNames()) {
                String reserved = RESERVED_PROPERTIES.get(property);
                if (reserved != null) {
                    throw new IllegalArgumentException(
                            "Property '" + property + "' of '" + KafkaOptions.PROPERTIES_FILE.key() + "' (" + file.get()
                                    + ") is not allowed: " + reserved);
                }
                properties.putIfAbsent(property, fromFile.getProperty(property));
            }
        }
        for (Map.Entry<String, String> entry : properties.entrySet()) {
            entry.setValue(resolveEnvironment(entry.getKey(), entry.getValue(), environment));
        }
        return new KafkaSettings(
                servers, topics, group, offsets, delivery, conf.get(KafkaOptions.VALUE_FORMAT), prefix, properties);
    }

    /** {@code value} with every {@code ${env:NAME}} replaced by that environment variable. */
    private static String resolveEnvironment(String property, String value, Function<String, String> environment) {
        Matcher m = ENV_REFERENCE.matcher(value);
        StringBuilder resolved = new StringBuilder();
        while (m.find()) {
            String found = environment.apply(m.group(1));
            if (found == null) {
                throw new IllegalArgumentException("Kafka property '" + property + "' refers to environment variable '"
                        + m.group(1) + "', which is not set where the job is built");
            }
            m.appendReplacement(resolved, Matcher.quoteReplacement(found));
        }
        m.appendTail(resolved);
        return resolved.toString();
    }

    /**
     * Parses a {@link KafkaOptions#STARTING_OFFSETS} value.
     *
     * @throws IllegalArgumentException naming the option and the allowed values
     */
    public static OffsetsInitializer parseStartingOffsets(String value) {
        String spec = value.trim().toLowerCase(Locale.ROOT);
        switch (spec) {
            case "earliest":
                return OffsetsInitializer.earliest();
            case "latest":
                return OffsetsInitializer.latest();
            case "committed":
                return OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
            default:
                break;
        }
        if (spec.startsWith("timestamp:")) {
            String millis = spec.substring("timestamp:".length()).trim();
            try {
                long timestamp = Long.parseLong(millis);
                if (timestamp >= 0) {
                    return OffsetsInitializer.timestamp(timestamp);
                }
            } catch (NumberFormatException e) {
                // reported below with the allowed values
            }
            throw new IllegalArgumentException("Option '" + KafkaOptions.STARTING_OFFSETS.key() + "' has timestamp '"
                    + millis + "', which is not epoch milliseconds (a whole number >= 0); allowed: "
                    + OFFSETS_ALLOWED);
        }
        throw new IllegalArgumentException("Option '" + KafkaOptions.STARTING_OFFSETS.key() + "' must be one of "
                + OFFSETS_ALLOWED + ", got '" + value + "'");
    }

    private static String topic(ReadableConfig conf, ConfigOption<String> option) {
        String topic = conf.get(option).trim();
        if (!TOPIC.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
            throw new IllegalArgumentException("Option '" + option.key()
                    + "' must be a Kafka topic name (1-249 characters from a-z A-Z 0-9 . _ -), got '" + topic + "'");
        }
        return topic;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public String inputTopic() {
        return inputTopic;
    }

    public String dlqTopic() {
        return dlqTopic;
    }

    public String groupId() {
        return groupId;
    }

    public OffsetsInitializer startingOffsets() {
        return parseStartingOffsets(startingOffsets);
    }

    public String enhancedAudioTopic() {
        return enhancedAudioTopic;
    }

    public String emotionEventsTopic() {
        return emotionEventsTopic;
    }

    public String emotionTrendsTopic() {
        return emotionTrendsTopic;
    }

    public String emotionAlertsTopic() {
        return emotionAlertsTopic;
    }

    public String callSummariesTopic() {
        return callSummariesTopic;
    }

    /** Delivery guarantee of the dead-letter topic ({@link KafkaOptions#DLQ_DELIVERY}). */
    public DeliveryGuarantee dlqDelivery() {
        return dlqDelivery;
    }

    /** Delivery guarantee of the enhanced-audio topic ({@link KafkaOptions#ENHANCED_AUDIO_DELIVERY}). */
    public DeliveryGuarantee enhancedAudioDelivery() {
        return enhancedAudioDelivery;
    }

    /** Delivery guarantee of the emotion-events topic ({@link KafkaOptions#EMOTION_EVENTS_DELIVERY}). */
    public DeliveryGuarantee emotionEventsDelivery() {
        return emotionEventsDelivery;
    }

    /** Delivery guarantee of the emotion-trends topic ({@link KafkaOptions#EMOTION_TRENDS_DELIVERY}). */
    public DeliveryGuarantee emotionTrendsDelivery() {
        return emotionTrendsDelivery;
    }

    /** Delivery guarantee of the emotion-alerts topic ({@link KafkaOptions#EMOTION_ALERTS_DELIVERY}). */
    public DeliveryGuarantee emotionAlertsDelivery() {
        return emotionAlertsDelivery;
    }

    /** Delivery guarantee of the call-summaries topic ({@link KafkaOptions#CALL_SUMMARIES_DELIVERY}). */
    public DeliveryGuarantee callSummariesDelivery() {
        return callSummariesDelivery;
    }

    /** Value format of the output and dead-letter topics ({@link KafkaOptions#VALUE_FORMAT}). */
    public ValueFormat valueFormat() {
        return valueFormat;
    }

    /** Prefix of the exactly-once sinks' transactional ids; each sink appends {@code -<topic>}. */
    public String transactionalIdPrefix() {
        return transactionalIdPrefix;
    }

    /** The {@code kafka.properties.*} pass-through without its prefix; a fresh copy. */
    public Properties clientProperties() {
        Properties properties = new Properties();
        properties.putAll(clientProperties);
        return properties;
    }

    @Override
    public String toString() {
        // Values of pass-through properties may be secrets (sasl.jaas.config, ssl passwords): names only.
        return "KafkaSettings{bootstrapServers=" + bootstrapServers + ", inputTopic=" + inputTopic + ", dlqTopic="
                + dlqTopic + ", outputTopics=[" + enhancedAudioTopic + ", " + emotionEventsTopic + ", "
                + emotionTrendsTopic + ", " + emotionAlertsTopic + ", " + callSummariesTopic + "], groupId=" + groupId
                + ", startingOffsets="
                + startingOffsets + ", delivery=[dlq " + dlqDelivery + ", enhanced-audio " + enhancedAudioDelivery
                + ", emotion-events " + emotionEventsDelivery + ", emotion-trends " + emotionTrendsDelivery
                + ", emotion-alerts " + emotionAlertsDelivery + ", call-summaries " + callSummariesDelivery + "]"
                + ", valueFormat=" + valueFormat
                + ", transactionalIdPrefix=" + transactionalIdPrefix + ", properties=" + clientProperties.keySet()
                + "}";
    }
}
