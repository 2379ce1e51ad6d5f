package io.meritstream.cli;

import io.meritstream.cli.kafka.OutputTopics;
import io.meritstream.cli.watch.SupervisorFeed;
import io.meritstream.cli.watch.SupervisorServer;
import io.meritstream.cli.watch.SupervisorState;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "watch",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Serves the supervisor page: a live view in the browser of the job's outputs on any Kafka cluster. Per"
                    + " live call it shows each channel's current emotion, a negativity sparkline, talk-time bars"
                    + " (from the call summaries) and alerts as they fire; per finished call its summary (talk shares,"
                    + " silence, overtalk, interruptions, longest customer monologue, emotions, peak negativity,"
                    + " alerts).",
            "",
            "Reads --events-topic, --trends-topic, --alerts-topic and --summaries-topic with isolation.level="
                    + "read_committed and no consumer group (it commits nothing), starting --lookback before now, so"
                    + " that calls in progress show from their start. The page holds no data of its own: it gets the"
                    + " current state when it connects, then every change (server-sent events). Runs until Ctrl-C.",
            "",
            "The page has no login: it listens on 127.0.0.1 unless --host says otherwise.",
        },
        footer = {
            "",
            "Examples:",
            "  merit watch -b broker:9092",
            "  merit watch -b broker:9093 --client-properties sasl.properties --port 9000 --lookback 1h",
        })
public final class WatchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaConnection kafka;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "Address the page listens on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(
            names = "--port",
            defaultValue = "8088",
            description = "Port of the page; 0 = any free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--lookback",
            defaultValue = "15min",
            description = "Start reading this long before now (0 = only what arrives from now on) (default:"
                    + " ${DEFAULT-VALUE}).")
    String lookback;

    @Option(names = "--from-beginning", description = "Read the topics from their beginning instead of --lookback.")
    boolean fromBeginning;

    @Mixin
    OutputTopicOptions outputs;

    @Override
    public Integer call() throws Exception {
        Duration back = DurationOption.parse(spec, "--lookback", lookback);
        SupervisorFeed.From from =
                fromBeginning ? SupervisorFeed.From.everything() : SupervisorFeed.From.lookback(back);
        OutputTopics topics = outputs.topics();
        PrintWriter err = spec.commandLine().getErr();
        SupervisorState state = new SupervisorState();
        AtomicBoolean stop = new AtomicBoolean();
        Thread main = Thread.currentThread();
        try (SupervisorServer page = startPage(host, port, "--port", state);
                SupervisorFeed feed = SupervisorFeed.start(kafka.properties(), topics, from, state)) {
            Shutdown.register(() -> {
                stop.set(true);
                main.interrupt();
            });
            PrintWriter out = spec.commandLine().getOut();
            out.println("supervisor page: " + page.url());
            out.flush();
            err.printf(
                    "watch: reading %s from %s (read_committed, %s). Ctrl-C to stop.%n",
                    String.join(", ", feed.topics()),
                    kafka.bootstrapServers(),
                    fromBeginning ? "from the beginning" : back.isZero() ? "from now on" : "from " + lookback + " ago");
            err.flush();
            ProgressLine progress = new ProgressLine(err, System.console() != null);
            while (!stop.get()) {
                if (feed.failure() != null) {
                    throw new CliException("reading Kafka failed: " + Logging.describe(feed.failure()));
                }
                progress.update(status(feed, state, page));
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    // Ctrl-C, or the thread running the command was interrupted: stop.
                    break;
                }
            }
            progress.finish(status(feed, state, page));
        } finally {
            Thread.interrupted();
            Shutdown.unregister();
        }
        return 130;
    }

    private static String status(SupervisorFeed feed, SupervisorState state, SupervisorServer page) {
        String problem = feed.problem();
        return String.format(
                Locale.ROOT,
                "watch: %d records, %d live calls, %d finished, %d page%s connected%s",
                feed.records(),
                state.liveCalls().size(),
                state.finishedCalls().size(),
                page.pages(),
                page.pages() == 1 ? "" : "s",
                problem == null ? "" : "  (" + problem + ")");
    }

    /**
     * Binds the page, or a usage error naming {@code option} when the port is taken; shared with {@code demo}.
     */
    static SupervisorServer startPage(String host, int port, String option, SupervisorState state) {
        if (port < 0 || port > 65_535) {
            throw new CliException(option + " must be a port number (0 = any free port), got " + port, 2, null);
        }
        try {
            return SupervisorServer.start(host, port, state);
        } catch (BindException e) {
            throw new CliException(
                    String.format(
                            Locale.ROOT,
                            "cannot serve the supervisor page on %s:%d (%s): choose another %s, or %s 0 for any free"
                                    + " port",
                            host,
                            port,
                            e.getMessage(),
                            option,
                            option),
                    2,
                    e);
        } catch (IOException e) {
            throw new CliException(
                    "cannot serve the supervisor page on " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }
}
