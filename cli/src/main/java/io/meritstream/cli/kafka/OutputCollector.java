package io.meritstream.cli.kafka;

import io.meritstream.avro.CallSummary;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.job.RecordIds;
import io.meritstream.schemas.SingleObjectCodec;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the job's output topics under {@code isolation.level=read_committed} (of the exactly-once topics, only
 * what their sinks committed): every record is decoded from the wire format, appended to a JSONL file per topic in Avro's JSON
 * encoding, handed to a {@link Listener}, and enhanced audio is kept for {@link EnhancedAudioAssembler}. A record whose
 * {@link RecordIds#HEADER} was seen before on its topic is a repeat that an at-least-once sink wrote again after a
 * restart: it is counted ({@link #repeats()}) and dropped, so each record is handled once.
 */
public final class OutputCollector implements AutoCloseable {
    /** Sees every decoded record, on the collector's thread. */
    public interface Listener {
        default void onChunk(EnhancedAudioChunk chunk) {}

        default void onEvent(EmotionEvent event) {}

        default void onTrend(EmotionTrend trend) {}

        default void onAlert(EmotionAlert alert) {}

        default void onSummary(CallSummary summary) {}

        default void onDeadLetter(DeadLetter letter) {}
    }

    /** Why {@link #run} returned. */
    public enum Stop {
        IDLE,
        MAX_TIME,
        REQUESTED
    }

    private static final Logger LOG = LoggerFactory.getLogger(OutputCollector.class);

    private final OutputTopics topics;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Handler<?>> handlers = new LinkedHashMap<>();
    private final EnhancedAudioAssembler audio = new EnhancedAudioAssembler();
    private final Listener listener;
    private final Map<String, Long> counts = new LinkedHashMap<>();
    private long undecodable;
    private long repeats;
    private long lastRecordNanos = System.nanoTime();

    /**
     * @param jsonlFiles where each topic's JSONL goes (by topic name); a topic without an entry gets no JSONL
     * @param fromEarliest read each topic from its start, not only what arrives from now on
     */
    public OutputCollector(
            Properties clientProperties,
            OutputTopics topics,
            Map<String, Path> jsonlFiles,
            boolean fromEarliest,
            Listener listener)
            throws IOException {
        this.topics = Objects.requireNonNull(topics, "topics");
        this.listener = Objects.requireNonNull(listener, "listener");
        if (new HashSet<>(topics.all()).size() != topics.all().size()) {
            throw new IllegalArgumentException("the output topics must be six different topics: " + topics.all());
        }
        handlers.put(
                topics.enhancedAudio(),
                new Handler<>(EnhancedAudioChunk.class, jsonlFiles.get(topics.enhancedAudio())));
        handlers.put(topics.events(), new Handler<>(EmotionEvent.class, jsonlFiles.get(topics.events())));
        handlers.put(topics.trends(), new Handler<>(EmotionTrend.class, jsonlFiles.get(topics.trends())));
        handlers.put(topics.alerts(), new Handler<>(EmotionAlert.class, jsonlFiles.get(topics.alerts())));
        handlers.put(topics.deadLetters(), new Handler<>(DeadLetter.class, jsonlFiles.get(topics.deadLetters())));
        handlers.put(topics.summaries(), new Handler<>(CallSummary.class, jsonlFiles.get(topics.summaries())));
        for (String topic : handlers.keySet()) {
            counts.put(topic, 0L);
        }
        Properties config = ClientProperties.committedBytesConsumer(clientProperties);
        config.putIfAbsent(ConsumerConfig.GROUP_ID_CONFIG, "merit-collect-" + UUID.randomUUID());
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromEarliest ? "earliest" : "latest");
        config.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "merit-collect");
        this.consumer = new KafkaConsumer<>(config);
        // Subscribing (not assigning) picks up topics the job creates after the collector started.
        consumer.subscribe(handlers.keySet());
    }

    /**
     * Polls until {@code idle} passes without a record (null: never idle), {@code maxTime} has passed (null: no limit),
     * {@code stop} says so, or {@link #wakeup()} is called.
     */
    public Stop run(Duration idle, Duration maxTime, BooleanSupplier stop) throws IOException {
        long start = System.nanoTime();
        lastRecordNanos = start;
        try {
            while (true) {
                if (stop.getAsBoolean()) {
                    return Stop.REQUESTED;
                }
                long now = System.nanoTime();
                if (maxTime != null && now - start >= maxTime.toNanos()) {
                    return Stop.MAX_TIME;
                }
                if (idle != null && now - lastRecordNanos >= idle.toNanos()) {
                    return Stop.IDLE;
                }
                pollOnce(Duration.ofMillis(200));
            }
        } catch (WakeupException e) {
            return Stop.REQUESTED;
        } finally {
            flush();
        }
    }

    /** Polls once and handles what arrived; returns the number of records. */
    public int pollOnce(Duration timeout) throws IOException {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(timeout);
        for (ConsumerRecord<byte[], byte[]> record : records) {
            Handler<?> handler = handlers.get(record.topic());
            if (handler != null) {
                handler.handle(record);
            }
        }
        if (!records.isEmpty()) {
            lastRecordNanos = System.nanoTime();
        }
        return records.count();
    }

    /** Time since the last record arrived (or since the collector started). */
    public Duration idleFor() {
        return Duration.ofNanos(System.nanoTime() - lastRecordNanos);
    }

    /** Makes a blocked {@link #run} return; callable from any thread. */
    public void wakeup() {
        consumer.wakeup();
    }

    public EnhancedAudioAssembler audio() {
        return audio;
    }

    /** Records per topic so far. */
    public Map<String, Long> counts() {
        return Map.copyOf(counts);
    }

    public long undecodable() {
        return undecodable;
    }

    /** Records dropped because a record with the same {@link RecordIds#HEADER} came before on the topic. */
    public long repeats() {
        return repeats;
    }

    public OutputTopics topics() {
        return topics;
    }

    public void flush() throws IOException {
        for (Handler<?> handler : handlers.values()) {
            handler.flush();
        }
    }

    @Override
    public void close() throws IOException {
        try {
            flush();
            for (Handler<?> handler : handlers.values()) {
                handler.close();
            }
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private final class Handler<T extends SpecificRecord> {
        private final SingleObjectCodec<T> codec;
        private final BufferedWriter jsonl;
        private final Set<String> seenIds = new HashSet<>();

        Handler(Class<T> type, Path jsonlFile) throws IOException {
            this.codec = SingleObjectCodec.of(type);
            if (jsonlFile != null) {
                Path parent = jsonlFile.toAbsolutePath().getParent();
                Files.createDirectories(parent);
                this.jsonl = Files.newBufferedWriter(jsonlFile, StandardCharsets.UTF_8);
            } else {
                this.jsonl = null;
            }
        }

        void handle(ConsumerRecord<byte[], byte[]> record) throws IOException {
            Header id = record.headers().lastHeader(RecordIds.HEADER);
            if (id != null && !seenIds.add(new String(id.value(), StandardCharsets.UTF_8))) {
                repeats++;
                return;
            }
            T value;
            try {
                value = codec.decode(record.value());
            } catch (RuntimeException e) {
                undecodable++;
                LOG.warn(
                        "skipping an undecodable record at {}-{}@{}: {}",
                        record.topic(),
                        record.partition(),
                        record.offset(),
                        e.getMessage());
                return;
            }
            counts.merge(record.topic(), 1L, Long::sum);
            if (jsonl != null) {
                jsonl.write(AvroJson.toJson(value));
                jsonl.newLine();
            }
            if (value instanceof EnhancedAudioChunk chunk) {
                audio.add(chunk);
                listener.onChunk(chunk);
            } else if (value instanceof EmotionEvent event) {
                listener.onEvent(event);
            } else if (value instanceof EmotionTrend trend) {
                listener.onTrend(trend);
            } else if (value instanceof EmotionAlert alert) {
                listener.onAlert(alert);
            } else if (value instanceof DeadLetter letter) {
                listener.onDeadLetter(letter);
            } else if (value instanceof CallSummary summary) {
                listener.onSummary(summary);
            }
        }

        void flush() throws IOException {
            if (jsonl != null) {
                jsonl.flush();
            }
        }

        void close() throws IOException {
            if (jsonl != null) {
                jsonl.close();
            }
        }
    }
}
