package io.meritstream.cli;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.cli.audio.ReplaySources;
import io.meritstream.cli.audio.StreamFramer;
import io.meritstream.cli.demo.DemoView;
import io.meritstream.cli.job.RunningJob;
import io.meritstream.cli.kafka.EnhancedAudioAssembler;
import io.meritstream.cli.kafka.OutputCollector;
import io.meritstream.cli.kafka.OutputTopics;
import io.meritstream.cli.kafka.Replayer;
import io.meritstream.cli.report.GroundTruth;
import io.meritstream.cli.report.ReportGenerator;
import io.meritstream.cli.watch.SupervisorFeed;
import io.meritstream.cli.watch.SupervisorServer;
import io.meritstream.cli.watch.SupervisorState;
import io.meritstream.job.KafkaOptions;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobStatus;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.errors.WakeupException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "The whole system in one process: starts a Kafka broker and a Flink MiniCluster running the real job with"
                    + " the default model, replays the shipped sample calls (data/calls) into Kafka at --speed, and"
                    + " shows a live view per call and channel: emotion probabilities, a negativity sparkline, alerts"
                    + " as they fire, throughput and latency. The supervisor page (see merit watch) shows the same in"
                    + " the browser, at the address printed at the start (--page-port), for as long as the demo runs.",
            "",
            "Writes to --out: <call>.<channel>.enhanced.wav, events.jsonl, trends.jsonl, alerts.jsonl,"
                    + " summaries.jsonl, dlq.jsonl (Avro JSON, one record per line), report.html with <call>.trend.png"
                    + " (emotion trend with alerts and the scripted ground truth), <call>.<channel>.spectrogram.png"
                    + " (noisy vs enhanced) and each call's conversation metrics (when the job wrote call summaries),"
                    + " and merit.log.",
            "",
            "When stdout is not a terminal the demo prints plain lines and exits when the calls are processed, as"
                    + " with --once. Ctrl-C stops it cleanly at any time (job, cluster and broker are shut down).",
        },
        footer = {
            "",
            "Examples:",
            "  merit demo",
            "  merit demo --speed 1 --out /tmp/merit",
            "  merit demo --once > demo.log"
        })
public final class DemoCommand implements Callable<Integer>, LogFileOwner {
    @Spec
    CommandSpec spec;

    @Option(
            names = {"-o", "--out"},
            defaultValue = "out",
            description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(
            names = "--speed",
            defaultValue = "4",
            description = "Replay pace: 1 = real time, 4 = four times faster, 0 = as fast as possible (default:"
                    + " ${DEFAULT-VALUE}).")
    double speed;

    @Option(names = "--once", description = "Exit when the calls are processed (default: keep the view until Ctrl-C).")
    boolean once;

    @Option(
            names = "--calls",
            paramLabel = "DIR",
            description = "Calls to replay: <call>.<channel>.wav files, with <call>.json ground truth for the report"
                    + " (default: data/calls of this checkout).")
    Path calls;

    @Option(names = "--plain", description = "Plain line output even on a terminal.")
    boolean plain;

    @Option(
            names = "--timeout",
            defaultValue = "120",
            description = "Give up when no output arrived for this many seconds after the replay finished (default:"
                    + " ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Option(
            names = "--page-port",
            defaultValue = "8088",
            description = "Port of the supervisor page on 127.0.0.1; 0 = any free port (default: ${DEFAULT-VALUE}).")
    int pagePort;

    @Mixin
    JobOptions job;

    @Override
    public Path logFile() {
        return out.resolve("merit.log");
    }

    static final String INPUT_TOPIC = "audio-frames";

    @Override
    public Integer call() throws Exception {
        if (speed < 0 || Double.isNaN(speed) || Double.isInfinite(speed)) {
            throw new CliException("--speed must be >= 0 (0 = as fast as possible)", 2, null);
        }
        Path callsDir = calls != null ? calls : defaultCalls();
        if (!Files.isDirectory(callsDir)) {
            throw new CliException("no calls directory " + callsDir + " (give one with --calls DIR)", 2, null);
        }
        job.checkModel();
        List<StreamFramer> streams;
        try {
            streams = ReplayCommand.streams(
                    ReplaySources.scan(callsDir), AudioEncoding.PCM_S16LE, 20, "", List.of(), Map.of());
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), 2, e);
        }
        if (streams.isEmpty()) {
            throw new CliException("no .wav files in " + callsDir, 2, null);
        }
        Files.createDirectories(out);
        boolean terminal = System.console() != null && !plain;
        boolean exitWhenDone = once || System.console() == null;
        PrintWriter screen = spec.commandLine().getOut();
        DemoView view = new DemoView(screen, terminal, speed);
        for (StreamFramer stream : streams) {
            String title = GroundTruth.find(callsDir, stream.sessionId())
                    .map(GroundTruth::title)
                    .orElse(null);
            view.expect(stream.sessionId(), stream.channel(), title);
        }

        // The page first: a taken port fails before anything else starts.
        SupervisorState pageState = new SupervisorState();
        SupervisorServer page = WatchCommand.startPage("127.0.0.1", pagePort, "--page-port", pageState);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean interrupted = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread main = Thread.currentThread();
        Shutdown.register(() -> {
            interrupted.set(true);
            stop.set(true);
            main.interrupt();
        });
        OutputTopics topics = OutputTopics.DEFAULTS;
        SupervisorFeed feed = null;
        EmbeddedKafkaBroker broker = null;
        RunningJob running = null;
        OutputCollector collector = null;
        Thread collectorThread = null;
        Thread replayThread = null;
        boolean finished = false;
        try {
            screen.println("supervisor page: " + page.url());
            screen.println("merit demo: starting Kafka and Flink (logs: " + logFile() + ") ...");
            screen.flush();
            broker = EmbeddedKafkaBroker.builder()
                    .defaultPartitions(job.parallelism)
                    .start();
            broker.createTopics(INPUT_TOPIC);
            broker.createTopics(topics.all().toArray(String[]::new));
            running = JobOptions.launcher()
                    .start(job.configuration(Map.ofEntries(
                            Map.entry(KafkaOptions.BOOTSTRAP_SERVERS.key(), broker.bootstrapServers()),
                            Map.entry(KafkaOptions.INPUT_TOPIC.key(), INPUT_TOPIC),
                            Map.entry(KafkaOptions.DLQ_TOPIC.key(), topics.deadLetters()),
                            Map.entry(KafkaOptions.ENHANCED_AUDIO_TOPIC.key(), topics.enhancedAudio()),
                            Map.entry(KafkaOptions.EMOTION_EVENTS_TOPIC.key(), topics.events()),
                            Map.entry(KafkaOptions.EMOTION_TRENDS_TOPIC.key(), topics.trends()),
                            Map.entry(KafkaOptions.EMOTION_ALERTS_TOPIC.key(), topics.alerts()),
                            Map.entry(OutputTopics.CALL_SUMMARIES_OPTION, topics.summaries()),
                            Map.entry(KafkaOptions.GROUP_ID.key(), "merit-demo"),
                            Map.entry(KafkaOptions.STARTING_OFFSETS.key(), "earliest"))));
            String ui = running.webUi().map(u -> "   Flink UI " + u).orElse("");
            view.header(String.format(
                    Locale.ROOT,
                    "merit demo: %d calls at %s%s   Kafka %s   supervisor page %s",
                    streams.stream().map(StreamFramer::sessionId).distinct().count(),
                    speed == 0 ? "full speed" : speed + "x real time",
                    ui,
                    broker.bootstrapServers(),
                    page.url()));
            // The page reads the outputs from the start of this run, like the collector.
            feed = SupervisorFeed.start(broker.clientProperties(), topics, SupervisorFeed.From.everything(), pageState);
            collector = new OutputCollector(
                    broker.clientProperties(),
                    topics,
                    Map.of(
                            topics.events(), out.resolve("events.jsonl"),
                            topics.trends(), out.resolve("trends.jsonl"),
                            topics.alerts(), out.resolve("alerts.jsonl"),
                            topics.summaries(), out.resolve("summaries.jsonl"),
                            topics.deadLetters(), out.resolve("dlq.jsonl")),
                    true,
                    view);
            OutputCollector reading = collector;
            collectorThread = new Thread(
                    () -> {
                        try {
                            while (!stop.get()) {
                                reading.pollOnce(Duration.ofMillis(200));
                            }
                        } catch (WakeupException e) {
                            // Asked to stop.
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    },
                    "merit-collect");
            collectorThread.start();

            EmbeddedKafkaBroker kafka = broker;
            long replayStart = System.currentTimeMillis();
            view.replayStarted(replayStart);
            AtomicBoolean replayDone = new AtomicBoolean();
            replayThread = new Thread(
                    () -> {
                        try (KafkaProducer<byte[], byte[]> producer =
                                ReplayCommand.producer(kafka.clientProperties())) {
                            new Replayer(producer, INPUT_TOPIC, speed)
                                    .replay(streams, replayStart, view::replayProgress);
                            replayDone.set(true);
                        } catch (InterruptedException e) {
                            // Stopped.
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    },
                    "merit-replay");
            replayThread.start();

            long lastEvents = -1;
            long lastChange = System.nanoTime();
            while (!stop.get()) {
                view.draw();
                if (failure.get() != null) {
                    throw new CliException("demo failed: " + Logging.describe(failure.get()), failure.get());
                }
                JobStatus status = running.status();
                if (status.isGloballyTerminalState()) {
                    throw RunCommand.jobStopped(status, running);
                }
                if (view.allFinished()) {
                    finished = true;
                    break;
                }
                long seen = view.events() + view.deadLetters();
                if (seen != lastEvents || !replayDone.get()) {
                    lastEvents = seen;
                    lastChange = System.nanoTime();
                } else if (System.nanoTime() - lastChange > (long) (timeoutSeconds * 1e9)) {
                    view.drawFinal();
                    throw new CliException(String.format(
                            Locale.ROOT,
                            "no output for %.0f s after the replay finished; still waiting for %s (see %s)",
                            timeoutSeconds,
                            view.unfinished(),
                            logFile()));
                }
                sleep(terminal ? 250 : 500);
            }
            view.drawFinal();
        } catch (InterruptedException e) {
            // Ctrl-C while waiting on the cluster: the clean-up below runs as for any stop.
        } finally {
            stop.set(true);
            // The shutdown hook interrupts this thread; clear that so that the joins below wait.
            Thread.interrupted();
            if (replayThread != null) {
                replayThread.interrupt();
                replayThread.join(10_000);
            }
            if (collector != null) {
                collector.wakeup();
                collectorThread.join(10_000);
            }
            // What was collected is written even after Ctrl-C or a failure; the job and broker are closed in any case.
            try {
                if (collector != null) {
                    try {
                        writeOutputs(collector, callsDir, screen);
                    } finally {
                        collector.close();
                    }
                }
                if (finished && !exitWhenDone && !interrupted.get()) {
                    screen.println();
                    screen.println("The job, Kafka (" + broker.bootstrapServers() + ") and the supervisor page ("
                            + page.url() + ") keep running; Ctrl-C to exit.");
                    screen.flush();
                    while (!interrupted.get()) {
                        sleep(500);
                    }
                }
            } finally {
                screen.println("merit demo: shutting down ...");
                screen.flush();
                try {
                    if (feed != null) {
                        feed.close();
                    }
                    page.close();
                    if (running != null) {
                        running.close();
                    }
                } finally {
                    if (broker != null) {
                        broker.close();
                    }
                    job.deleteTemporaryCheckpoints();
                    Shutdown.unregister();
                }
            }
        }
        if (interrupted.get()) {
            return 130;
        }
        return 0;
    }

    private void writeOutputs(OutputCollector collector, Path callsDir, PrintWriter screen) throws Exception {
        collector.flush();
        List<EnhancedAudioAssembler.Written> wavs = collector.audio().writeAll(out);
        ReportGenerator.Result report = new ReportGenerator(new ReportGenerator.Inputs(
                        out.resolve("events.jsonl"),
                        out.resolve("trends.jsonl"),
                        out.resolve("alerts.jsonl"),
                        out.resolve("summaries.jsonl"),
                        callsDir,
                        out))
                .write(out);
        screen.println();
        screen.printf("Wrote to %s:%n", out.toAbsolutePath());
        for (EnhancedAudioAssembler.Written w : wavs) {
            screen.printf(
                    "  %-40s %5.1f s%s%n",
                    w.file().getFileName(),
                    w.samples() / 16000.0,
                    w.complete()
                            ? ""
                            : " (incomplete: missing " + w.missingSeqs().size() + " chunks or the end)");
        }
        screen.printf(
                "  events.jsonl %d, trends.jsonl %d, alerts.jsonl %d, summaries.jsonl %d, dlq.jsonl %d records%n",
                collector.counts().getOrDefault(collector.topics().events(), 0L),
                collector.counts().getOrDefault(collector.topics().trends(), 0L),
                collector.counts().getOrDefault(collector.topics().alerts(), 0L),
                collector.counts().getOrDefault(collector.topics().summaries(), 0L),
                collector.counts().getOrDefault(collector.topics().deadLetters(), 0L));
        screen.printf(
                "  %s and %d charts%n",
                report.html().getFileName(), report.images().size());
        for (ReportGenerator.Detection d : report.detections()) {
            screen.printf(
                    Locale.ROOT,
                    "  %s %s %s %.1f-%.1f s: %s%n",
                    d.sessionId(),
                    d.span().channel(),
                    d.span().emotion(),
                    d.span().startS(),
                    d.span().endS(),
                    d.detected()
                            ? String.format(Locale.ROOT, "detected (alert at %.1f s)", d.alertAtS())
                            : "not detected");
        }
        screen.flush();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            // Ctrl-C: the loop checks the stop flag.
        }
    }

    /** data/calls of the checkout bin/merit runs from, else of the working directory. */
    static Path defaultCalls() {
        String home = System.getProperty("merit.home");
        if (home != null && Files.isDirectory(Path.of(home, "data", "calls"))) {
            return Path.of(home, "data", "calls");
        }
        return Path.of("data", "calls");
    }
}
