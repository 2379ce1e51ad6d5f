package io.meritstream.cli.bench;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.TrendKind;
import io.meritstream.cli.kafka.ClientProperties;
import io.meritstream.cli.kafka.OutputTopics;
import io.meritstream.job.MeritStreamJob;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The whole streaming path on one machine: an embedded Kafka broker, a Flink MiniCluster, and the real job as its entry
 * point builds it from options ({@link MeritStreamJob#fromConfiguration}: Kafka source, decode, window, infer, analyse,
 * five Kafka sinks), fed with synthetic 16 kHz channels. Events, trends and alerts are read back from Kafka as a
 * supervisor's client reads them (read_committed), so a latency covers produce → broker → decode → window → infer →
 * analyse → broker → commit (for an exactly-once topic) → consume.
 */
public final class PipelineBench implements AutoCloseable {
    /** Samples per 20 ms frame at 16 kHz: the producer's frame size. */
    static final int FRAME_SAMPLES = 320;

    static final long FRAME_NANOS = 20_000_000L;
    private static final int VOICES = 8;
    private static final int VOICE_FRAMES = 500; // 10 s of audio per voice, looped

    /**
     * What the job runs with.
     *
     * @param jobOptions the job's own options ({@code inference.*}, {@code kafka.delivery-guarantee}, ...); the bench
     *     adds the broker and this run's topics
     * @param hopSamples the windowing hop the options give (for the latency arithmetic)
     */
    public record Settings(int parallelism, Configuration jobOptions, int hopSamples) {}

    private static final SingleObjectCodec<AudioFrame> FRAMES = SingleObjectCodec.of(AudioFrame.class);
    private static final SingleObjectCodec<EmotionEvent> EVENTS = SingleObjectCodec.of(EmotionEvent.class);
    private static final SingleObjectCodec<EmotionTrend> TRENDS = SingleObjectCodec.of(EmotionTrend.class);
    private static final SingleObjectCodec<EmotionAlert> ALERTS = SingleObjectCodec.of(EmotionAlert.class);

    private final Settings settings;
    private final EmbeddedKafkaBroker kafka;
    private final MiniCluster cluster;
    private final byte[][][] voices;
    private int runs;

    private PipelineBench(Settings settings, EmbeddedKafkaBroker kafka, MiniCluster cluster) {
        this.settings = settings;
        this.kafka = kafka;
        this.cluster = cluster;
        this.voices = new byte[VOICES][VOICE_FRAMES][];
        for (int v = 0; v < VOICES; v++) {
            float[] audio = SyntheticSpeech.generate(VOICE_FRAMES * FRAME_SAMPLES, 7 + v);
            for (int f = 0; f < VOICE_FRAMES; f++) {
                voices[v][f] = SyntheticSpeech.pcm16(audio, f * FRAME_SAMPLES, FRAME_SAMPLES);
            }
        }
    }

    /** Starts the broker and the MiniCluster (one TaskManager, one slot per parallel subtask). */
    public static PipelineBench start(Settings settings) throws Exception {
        EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.builder()
                .defaultPartitions(Math.max(2, settings.parallelism()))
                .start();
        try {
            Configuration conf = new Configuration();
            // A free port: another Flink (a demo, a test) may hold 8081.
            conf.set(RestOptions.BIND_PORT, "0");
            conf.set(RestOptions.ADDRESS, "127.0.0.1");
            MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                    .setConfiguration(conf)
                    .setNumTaskManagers(1)
                    .setNumSlotsPerTaskManager(settings.parallelism())
                    .build());
            cluster.start();
            return new PipelineBench(settings, kafka, cluster);
        } catch (Exception e) {
            kafka.close();
            throw e;
        }
    }

    /**
     * One level of the real-time sweep.
     *
     * @param inputWindowsPerSecond windows the channels produce per second: channels / hop
     * @param outputEventsPerSecond emotion events read back per second during the measurement interval
     * @param latencyMs frame-to-event latency: from the send of the first frame whose audio is new in a window to the
     *     arrival of the window's event at the consumer (includes waiting up to one hop for the window to close)
     * @param eventVisibleMs frame-to-visible latency of the events: from the send of the window's last frame (the end of
     *     its evidence) to the arrival of its event at a read_committed consumer
     * @param alertVisibleMs the same for alerts: from the send of the last frame of the window that triggered the alert
     * @param checkpoints the job's checkpoints during the level
     * @param failedWindows windows with a trend update but no event: inference failed for them
     * @param producerMaxLagMs how late the producer sent its frames at worst (a late producer understates the load)
     * @param cpuCoresUsed process CPU seconds per wall second during the measurement interval (broker, Flink, ORT)
     */
    public record Level(
            int channels,
            double measuredSeconds,
            double inputWindowsPerSecond,
            double outputEventsPerSecond,
            Percentiles latencyMs,
            Percentiles eventVisibleMs,
            Percentiles alertVisibleMs,
            Checkpoints checkpoints,
            long failedWindows,
            double producerMaxLagMs,
            double cpuCoresUsed,
            double loadAverage,
            KeepsUpRule.Verdict verdict) {}

    /** Runs {@code channels} real-time channels for {@code warmup + measure} and judges them by {@code rule}. */
    public Level realtime(int channels, Duration warmup, Duration measure, KeepsUpRule rule) throws Exception {
        Topics topics = newTopics();
        int hopFrames = settings.hopSamples() / FRAME_SAMPLES;
        long totalFrames = (warmup.toNanos() + measure.toNanos()) / FRAME_NANOS;
        List<String> keys = new ArrayList<>();
        Map<String, AtomicLongArray> sendNanos = new HashMap<>();
        int[] startFrame = new int[channels];
        for (int c = 0; c < channels; c++) {
            keys.add(streamKey(c));
            sendNanos.put(keys.get(c), new AtomicLongArray((int) totalFrames));
            // Calls start at different moments: spread the channels' window boundaries evenly over one hop.
            startFrame[c] = (int) ((long) c * hopFrames / channels);
        }

        JobID job = submit(topics);
        try (EventReader reader = new EventReader(topics)) {
            waitUntilRunning(job);
            long t0 = System.nanoTime() + 200_000_000L;
            long measureFrom = t0 + warmup.toNanos();
            long measureTo = measureFrom + measure.toNanos();
            reader.start(event -> {});
            double maxLagMs = 0;
            try (KafkaProducer<byte[], byte[]> producer = producer()) {
                long epochAtT0 = System.currentTimeMillis() + 200;
                for (long tick = 0; tick < totalFrames; tick++) {
                    long due = t0 + tick * FRAME_NANOS;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    maxLagMs = Math.max(maxLagMs, (System.nanoTime() - due) / 1e6);
                    for (int c = 0; c < channels; c++) {
                        long seq = tick - startFrame[c];
                        if (seq < 0) {
                            continue;
                        }
                        String key = keys.get(c);
                        sendNanos.get(key).set((int) seq, System.nanoTime());
                        send(producer, topics.input, c, seq, epochAtT0 + tick * 20, false);
                    }
                }
                producer.flush();
            }
            long c0 = reader.cpuAt(measureFrom);
            long c1 = reader.cpuAt(measureTo);
            // The events of the last windows measured are on their way: give them two hops before counting.
            Thread.sleep(2 * settings.hopSamples() / 16);
            List<EventReader.Arrival> arrivals = reader.stop();
            double hopMs = settings.hopSamples() / 16.0;
            List<Double> latencies = new ArrayList<>();
            List<Double> eventVisible = new ArrayList<>();
            List<Double> alertVisible = new ArrayList<>();
            int events = 0;
            // A failed window has a trend update but never an event; both are written at once but to two topics, so a
            // window's update may arrive just inside the measurement and its event just after: match by window.
            Set<String> windowsWithEvents = new HashSet<>();
            for (EventReader.Arrival a : arrivals) {
                if (a.kind == EventReader.Kind.EVENT) {
                    windowsWithEvents.add(a.streamKey + "#" + a.windowIndex);
                }
            }
            long failed = 0;
            for (EventReader.Arrival a : arrivals) {
                if (a.nanos < measureFrom || a.nanos > measureTo) {
                    continue;
                }
                if (a.kind == EventReader.Kind.TREND) {
                    failed += windowsWithEvents.contains(a.streamKey + "#" + a.windowIndex) ? 0 : 1;
                    continue;
                }
                events += a.kind == EventReader.Kind.EVENT ? 1 : 0;
                AtomicLongArray sent = sendNanos.get(a.streamKey);
                if (sent == null) {
                    continue;
                }
                long lastFrame = Math.max(0, (a.evidenceEndSample + FRAME_SAMPLES - 1) / FRAME_SAMPLES - 1);
                long firstNewFrame = Math.max(0, (a.evidenceEndSample - settings.hopSamples()) / FRAME_SAMPLES);
                if (lastFrame >= sent.length() || sent.get((int) lastFrame) == 0) {
                    continue; // a final window of silence after the run: no frame of ours ends it
                }
                double visible = (a.nanos - sent.get((int) lastFrame)) / 1e6;
                if (a.kind == EventReader.Kind.ALERT) {
                    alertVisible.add(visible);
                } else {
                    latencies.add((a.nanos - sent.get((int) firstNewFrame)) / 1e6);
                    eventVisible.add(visible);
                }
            }
            Checkpoints checkpoints = checkpoints(job);
            double seconds = measure.toNanos() / 1e9;
            double input = channels * 1000.0 / hopMs;
            double output = events / seconds;
            Percentiles latency = Percentiles.of(toArray(latencies));
            KeepsUpRule.Verdict verdict = rule.judge(input, output, latency.percentile(99), Math.round(hopMs), failed);
            return new Level(
                    channels,
                    seconds,
                    input,
                    output,
                    latency,
                    Percentiles.of(toArray(eventVisible)),
                    Percentiles.of(toArray(alertVisible)),
                    checkpoints,
                    failed,
                    maxLagMs,
                    (c1 - c0) / 1e9 / seconds,
                    Machine.loadAverages()[0],
                    verdict);
        } finally {
            cancel(job);
        }
    }

    /**
     * The pipeline's capacity: {@code channels} channels of {@code seconds} each are put into Kafka first, then the job
     * works through them as fast as it can.
     *
     * @param windowsPerSecond windows through the whole pipeline per wall second, over the middle 80 % of the events
     * @param cpuSecondsPerWindow process CPU per window over the same span
     * @param cpuMsPerWindowByThread process CPU per window from the first event to the last, by thread group ({@link
     *     ThreadCpu})
     */
    public record Backlog(
            int channels,
            int seconds,
            int events,
            double windowsPerSecond,
            double cpuSecondsPerWindow,
            Map<String, Double> cpuMsPerWindowByThread) {}

    public Backlog backlog(int channels, int seconds, Duration timeout) throws Exception {
        Topics topics = newTopics();
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            long epoch = System.currentTimeMillis();
            int frames = seconds * 50;
            for (int seq = 0; seq < frames; seq++) {
                for (int c = 0; c < channels; c++) {
                    send(producer, topics.input, c, seq, epoch + seq * 20L, seq == frames - 1);
                }
            }
            producer.flush();
        }
        JobID job = submit(topics);
        try (EventReader reader = new EventReader(topics)) {
            reader.start(event -> {});
            long deadline = System.nanoTime() + timeout.toNanos();
            int expected = channels * seconds; // about one window per hop of audio
            long lastCount = -1;
            long lastChange = System.nanoTime();
            ThreadCpu.Snapshot first = null;
            long firstCount = 0;
            while (System.nanoTime() < deadline) {
                Thread.sleep(250);
                long count = reader.events();
                if (first == null && count > 0) {
                    // From the first event on the job is deployed and the model loaded: only the work itself counts.
                    first = ThreadCpu.take();
                    firstCount = count;
                }
                if (count != lastCount) {
                    lastCount = count;
                    lastChange = System.nanoTime();
                } else if (count > 0 && System.nanoTime() - lastChange > 5_000_000_000L) {
                    break; // nothing new for 5 s: the backlog is done
                }
                if (count >= expected) {
                    break;
                }
            }
            ThreadCpu.Snapshot last = ThreadCpu.take();
            long lastEvents = reader.events();
            List<EventReader.Arrival> all = reader.stop();
            List<EventReader.Arrival> events =
                    all.stream().filter(a -> a.kind == EventReader.Kind.EVENT).toList();
            if (events.size() < 10) {
                throw new IllegalStateException("the pipeline produced only " + events.size() + " events from "
                        + expected + " windows of backlog within " + timeout.toSeconds() + " s");
            }
            int from = events.size() / 10;
            int to = events.size() * 9 / 10;
            double span = (events.get(to).nanos - events.get(from).nanos) / 1e9;
            double rate = (to - from) / span;
            double cpu = (reader.cpuAt(events.get(to).nanos) - reader.cpuAt(events.get(from).nanos)) / 1e9;
            Map<String, Double> byThread = new java.util.LinkedHashMap<>();
            if (first != null && lastEvents > firstCount) {
                for (Map.Entry<String, Long> e : ThreadCpu.between(first, last).entrySet()) {
                    byThread.put(e.getKey(), e.getValue() / 1e6 / (lastEvents - firstCount));
                }
            }
            return new Backlog(channels, seconds, events.size(), rate, cpu / (to - from), byThread);
        } finally {
            cancel(job);
        }
    }

    private record Topics(
            String input, String dlq, String events, String enhanced, String trends, String alerts, String summaries) {}

    private Topics newTopics() {
        String suffix = (++runs) + "-" + UUID.randomUUID().toString().substring(0, 6);
        Topics t = new Topics(
                "audio-frames-" + suffix,
                "audio-dlq-" + suffix,
                "emotion-events-" + suffix,
                "enhanced-audio-" + suffix,
                "emotion-trends-" + suffix,
                "emotion-alerts-" + suffix,
                "call-summaries-" + suffix);
        kafka.createTopics(
                Math.max(2, settings.parallelism()),
                t.input,
                t.dlq,
                t.events,
                t.enhanced,
                t.trends,
                t.alerts,
                t.summaries);
        return t;
    }

    /**
     * The real job, built by its own entry point ({@link MeritStreamJob#fromConfiguration}) from the bench's options
     * plus this run's topics, submitted to the MiniCluster.
     */
    private JobID submit(Topics topics) throws Exception {
        Configuration conf = new Configuration(settings.jobOptions());
        conf.setString("kafka.bootstrap-servers", kafka.bootstrapServers());
        conf.setString("kafka.input-topic", topics.input);
        conf.setString("kafka.dlq-topic", topics.dlq);
        conf.setString("kafka.topic.enhanced-audio", topics.enhanced);
        conf.setString("kafka.topic.emotion-events", topics.events);
        conf.setString("kafka.topic.emotion-trends", topics.trends);
        conf.setString("kafka.topic.emotion-alerts", topics.alerts);
        conf.setString(OutputTopics.CALL_SUMMARIES_OPTION, topics.summaries);
        conf.setString("kafka.group-id", "bench-" + topics.input);
        conf.setString("kafka.starting-offsets", "earliest");
        // The job's options configure the environment too (checkpoint storage and directory), as bin/merit's launcher
        // does.
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(settings.parallelism());
        MeritStreamJob.fromConfiguration(conf).build(env);
        JobGraph graph = env.getStreamGraph().getJobGraph();
        return cluster.submitJob(graph).get(2, TimeUnit.MINUTES).getJobID();
    }

    /**
     * What checkpointing cost the job so far: completed checkpoints, their end-to-end duration and state size (Flink's
     * own checkpoint statistics, as its web UI shows them).
     *
     * @param intervalMs the configured interval
     */
    public record Checkpoints(
            long intervalMs,
            long completed,
            long failed,
            double p50DurationMs,
            long maxDurationMs,
            long p50StateBytes) {}

    private Checkpoints checkpoints(JobID job) throws Exception {
        var graph = cluster.getExecutionGraph(job).get(30, TimeUnit.SECONDS);
        var config = graph.getCheckpointCoordinatorConfiguration();
        var stats = graph.getCheckpointStatsSnapshot();
        if (stats == null || config == null) {
            return new Checkpoints(config == null ? 0 : config.getCheckpointInterval(), 0, 0, 0, 0, 0);
        }
        var summary = stats.getSummaryStats();
        return new Checkpoints(
                config.getCheckpointInterval(),
                stats.getCounts().getNumberOfCompletedCheckpoints(),
                stats.getCounts().getNumberOfFailedCheckpoints(),
                summary.getEndToEndDurationStats().getQuantile(0.5),
                summary.getEndToEndDurationStats().getMaximum(),
                (long) summary.getStateSizeStats().getQuantile(0.5));
    }

    private void waitUntilRunning(JobID job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            JobStatus status = cluster.getJobStatus(job).get(30, TimeUnit.SECONDS);
            if (status == JobStatus.RUNNING) {
                return;
            }
            if (status.isGloballyTerminalState()) {
                throw new IllegalStateException("the bench job ended before it ran: " + status);
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the bench job did not start within 2 minutes");
    }

    private void cancel(JobID job) {
        try {
            if (!cluster.getJobStatus(job).get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                cluster.cancelJob(job).get(1, TimeUnit.MINUTES);
            }
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            while (System.nanoTime() < deadline
                    && !cluster.getJobStatus(job).get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                Thread.sleep(100);
            }
        } catch (Exception e) {
            // The next run gets fresh topics; a job that lingers only costs CPU until close().
        }
    }

    static String streamKey(int channel) {
        return session(channel) + "/" + (channel % 2 == 0 ? "agent" : "customer");
    }

    private static String session(int channel) {
        return "call-" + (channel / 2);
    }

    private void send(
            KafkaProducer<byte[], byte[]> producer, String topic, int c, long seq, long epochMs, boolean eos) {
        AudioFrame frame = AudioFrame.newBuilder()
                .setSessionId(session(c))
                .setChannel(c % 2 == 0 ? "agent" : "customer")
                .setSeq(seq)
                .setTimestampMs(epochMs)
                .setSampleRate(16_000)
                .setEncoding(AudioEncoding.PCM_S16LE)
                .setPayload(ByteBuffer.wrap(voices[c % VOICES][(int) ((seq + 37L * c) % VOICE_FRAMES)]))
                .setEndOfStream(eos)
                .build();
        producer.send(new ProducerRecord<>(topic, key(session(c)), FRAMES.encode(frame)));
    }

    private static byte[] key(String sessionId) {
        return sessionId.getBytes(StandardCharsets.UTF_8);
    }

    private KafkaProducer<byte[], byte[]> producer() {
        Properties p = kafka.clientProperties();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // Frames leave at once, as a telephony gateway sends them; batching would delay them by up to linger.ms.
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        return new KafkaProducer<>(p);
    }

    private static double[] toArray(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /**
     * Reads the events, trends and alerts topics from the start as a supervisor's client would (read_committed:
     * records of an exactly-once topic arrive when their checkpoint commits), recording when each record arrived.
     */
    private final class EventReader implements AutoCloseable {
        enum Kind {
            EVENT,
            TREND,
            ALERT
        }

        /** @param evidenceEndSample end of the window the record reports on (an alert: its trigger window) */
        record Arrival(long nanos, Kind kind, String streamKey, long windowIndex, long evidenceEndSample) {}

        private final Topics topics;
        private final List<Arrival> arrivals = new ArrayList<>();
        private final List<long[]> cpuSamples = new ArrayList<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private Thread thread;
        private long eventCount;

        EventReader(Topics topics) {
            this.topics = topics;
        }

        void start(Consumer<Arrival> listener) {
            KafkaConsumer<byte[], byte[]> consumer =
                    new KafkaConsumer<>(ClientProperties.committedBytesConsumer(kafka.clientProperties()));
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : List.of(topics.events, topics.trends, topics.alerts)) {
                consumer.partitionsFor(topic).forEach(i -> partitions.add(new TopicPartition(topic, i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            thread = new Thread(
                    () -> {
                        try (consumer) {
                            while (running.get()) {
                                long now = System.nanoTime();
                                synchronized (this) {
                                    cpuSamples.add(new long[] {now, Machine.processCpuNanos()});
                                }
                                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
                                    long at = System.nanoTime();
                                    Arrival a;
                                    if (r.topic().equals(topics.events)) {
                                        EmotionEvent e = EVENTS.decode(r.value());
                                        a = new Arrival(
                                                at,
                                                Kind.EVENT,
                                                e.getSessionId() + "/" + e.getChannel(),
                                                e.getWindowIndex(),
                                                e.getWindowEndSample());
                                    } else if (r.topic().equals(topics.alerts)) {
                                        EmotionAlert x = ALERTS.decode(r.value());
                                        a = new Arrival(
                                                at,
                                                Kind.ALERT,
                                                x.getSessionId() + "/" + x.getChannel(),
                                                x.getWindowIndex(),
                                                x.getTimeMs() * 16);
                                    } else {
                                        EmotionTrend t = TRENDS.decode(r.value());
                                        if (t.getKind() != TrendKind.UPDATE) {
                                            continue;
                                        }
                                        a = new Arrival(
                                                at,
                                                Kind.TREND,
                                                t.getSessionId() + "/" + t.getChannel(),
                                                t.getWindowIndex(),
                                                -1);
                                    }
                                    synchronized (this) {
                                        arrivals.add(a);
                                        eventCount += a.kind == Kind.EVENT ? 1 : 0;
                                    }
                                    listener.accept(a);
                                }
                            }
                        }
                    },
                    "bench-event-reader");
            thread.setDaemon(true);
            thread.start();
        }

        synchronized long events() {
            return eventCount;
        }

        /** Process CPU time at {@code nanos}, from the nearest sample at or before it. */
        synchronized long cpuAt(long nanos) {
            long cpu = cpuSamples.isEmpty()
                    ? Machine.processCpuNanos()
                    : cpuSamples.get(0)[1];
            for (long[] s : cpuSamples) {
                if (s[0] > nanos) {
                    break;
                }
                cpu = s[1];
            }
            return cpu;
        }

        List<Arrival> stop() throws InterruptedException {
            running.set(false);
            if (thread != null) {
                thread.join(10_000);
            }
            synchronized (this) {
                return new ArrayList<>(arrivals);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            cluster.close();
        } finally {
            kafka.close();
        }
    }
}
