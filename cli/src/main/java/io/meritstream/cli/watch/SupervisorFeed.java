package io.meritstream.cli.watch;

import io.meritstream.avro.CallSummary;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.cli.kafka.ClientProperties;
import io.meritstream.cli.kafka.OutputTopics;
import io.meritstream.schemas.SingleObjectCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads emotion-events, emotion-trends, emotion-alerts and call-summaries into a {@link SupervisorState}, on a thread
 * of its own, under {@code isolation.level=read_committed}.
 *
 * <p>No consumer group: the feed assigns itself every partition of the four topics and commits nothing, so any number
 * of pages and feeds read side by side without moving anyone's offsets. Where it starts ({@link From}) is chosen once:
 * from the beginning of each topic (the demo's fresh broker), or from a lookback before now (a supervisor joining a
 * running system wants the calls in progress from their start, not days of history, nor only what comes next). A topic
 * or partition that appears later (the job creates call-summaries on its first record, or the topic is widened) is
 * picked up within {@link #REFRESH} and read from its beginning. Records that do not decode are counted and skipped.
 */
public final class SupervisorFeed implements AutoCloseable {
    /** How often the feed looks for topics and partitions that appeared. */
    static final Duration REFRESH = Duration.ofSeconds(5);

    private static final Logger LOG = LoggerFactory.getLogger(SupervisorFeed.class);

    /** Where the feed starts in the topics it finds at its start. */
    public record From(boolean fromBeginning, Duration lookback) {
        /** Everything the topics hold. */
        public static From everything() {
            return new From(true, null);
        }

        /** Records written in the last {@code lookback} (zero: only what arrives from now on). */
        public static From lookback(Duration lookback) {
            if (lookback.isNegative()) {
                throw new IllegalArgumentException("the lookback must not be negative: " + lookback);
            }
            return new From(false, lookback);
        }
    }

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Consumer<byte[]>> handlers = new LinkedHashMap<>();
    private final From from;
    private final Thread thread;
    private final AtomicLong records = new AtomicLong();
    private final AtomicLong undecodable = new AtomicLong();
    private final Set<TopicPartition> assigned = new HashSet<>();
    private volatile boolean stop;
    private volatile String problem;
    private volatile Throwable failure;

    private SupervisorFeed(Properties clientProperties, OutputTopics topics, From from, SupervisorState state) {
        this.from = Objects.requireNonNull(from, "from");
        handlers.put(topics.events(), handler(EmotionEvent.class, state::onEvent));
        handlers.put(topics.trends(), handler(EmotionTrend.class, state::onTrend));
        handlers.put(topics.alerts(), handler(EmotionAlert.class, state::onAlert));
        handlers.put(topics.summaries(), handler(CallSummary.class, state::onSummary));
        if (handlers.size() != 4) {
            throw new IllegalArgumentException("events, trends, alerts and summaries must be four different topics");
        }
        Properties config = ClientProperties.committedBytesConsumer(clientProperties);
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        // Looking a topic up must not create it (a typo in a topic option would make an empty topic).
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        config.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "merit-watch");
        config.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        this.consumer = new KafkaConsumer<>(config);
        this.thread = new Thread(this::run, "merit-watch-feed");
        this.thread.setDaemon(true);
    }

    /** Starts reading {@code topics} (events, trends, alerts, summaries) into {@code state}. */
    public static SupervisorFeed start(
            Properties clientProperties, OutputTopics topics, From from, SupervisorState state) {
        SupervisorFeed feed = new SupervisorFeed(clientProperties, topics, from, state);
        feed.thread.start();
        return feed;
    }

    /** Records read so far, of all four topics. */
    public long records() {
        return records.get();
    }

    public long undecodable() {
        return undecodable.get();
    }

    /** The topics read. */
    public List<String> topics() {
        return List.copyOf(handlers.keySet());
    }

    /** Why the feed has no data right now (a topic missing, Kafka not answering), or null when all is well. */
    public String problem() {
        return problem;
    }

    /** What stopped the feed's thread, if anything did; the feed reads nothing after that. */
    public Throwable failure() {
        return failure;
    }

    private void run() {
        try {
            long nextRefresh = 0;
            boolean first = true;
            while (!stop) {
                if (System.nanoTime() - nextRefresh >= 0) {
                    if (refreshAssignment(first)) {
                        first = false;
                    }
                    nextRefresh = System.nanoTime() + REFRESH.toNanos();
                }
                if (assigned.isEmpty()) {
                    Thread.sleep(200);
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Consumer<byte[]> handler = handlers.get(record.topic());
                    if (handler == null) {
                        continue;
                    }
                    try {
                        handler.accept(record.value());
                        records.incrementAndGet();
                    } catch (RuntimeException e) {
                        undecodable.incrementAndGet();
                        LOG.warn(
                                "skipping an undecodable record at {}-{}@{}: {}",
                                record.topic(),
                                record.partition(),
                                record.offset(),
                                e.getMessage());
                    }
                }
            }
        } catch (WakeupException | InterruptException | InterruptedException e) {
            // Closed.
        } catch (Throwable t) {
            if (!stop) {
                failure = t;
                LOG.error("the supervisor feed stopped", t);
            }
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /**
     * Assigns every partition of the four topics; those found by the first look that Kafka answered are placed by
     * {@link #from}, later ones at their beginning. False when Kafka did not answer.
     */
    private boolean refreshAssignment(boolean initial) {
        List<TopicPartition> found = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        try {
            for (String topic : handlers.keySet()) {
                List<PartitionInfo> partitions = consumer.partitionsFor(topic);
                if (partitions == null || partitions.isEmpty()) {
                    missing.add(topic);
                    continue;
                }
                for (PartitionInfo p : partitions) {
                    found.add(new TopicPartition(p.topic(), p.partition()));
                }
            }
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            problem = "Kafka does not answer (" + e.getMessage() + ")";
            return false;
        }
        problem = missing.isEmpty() ? null : "no topic " + String.join(", ", missing) + " yet";
        List<TopicPartition> added =
                found.stream().filter(tp -> !assigned.contains(tp)).toList();
        if (added.isEmpty()) {
            return true;
        }
        assigned.addAll(added);
        consumer.assign(List.copyOf(assigned));
        if (!initial || from.fromBeginning()) {
            consumer.seekToBeginning(added);
        } else if (from.lookback().isZero()) {
            consumer.seekToEnd(added);
        } else {
            long since = System.currentTimeMillis() - from.lookback().toMillis();
            Map<TopicPartition, Long> query = new HashMap<>();
            added.forEach(tp -> query.put(tp, since));
            List<TopicPartition> none = new ArrayList<>();
            for (Map.Entry<TopicPartition, OffsetAndTimestamp> e :
                    consumer.offsetsForTimes(query).entrySet()) {
                if (e.getValue() == null) {
                    none.add(e.getKey());
                } else {
                    consumer.seek(e.getKey(), e.getValue().offset());
                }
            }
            // No record that recent: start at the end.
            consumer.seekToEnd(none);
        }
        LOG.info("supervisor feed reads {}", added);
        return true;
    }

    private static <T extends SpecificRecord> Consumer<byte[]> handler(Class<T> type, Consumer<? super T> sink) {
        SingleObjectCodec<T> codec = SingleObjectCodec.of(type);
        return bytes -> sink.accept(codec.decode(bytes));
    }

    /** Stops the thread and closes the consumer. Idempotent. */
    @Override
    public void close() throws InterruptedException {
        stop = true;
        consumer.wakeup();
        thread.join(10_000);
    }
}
