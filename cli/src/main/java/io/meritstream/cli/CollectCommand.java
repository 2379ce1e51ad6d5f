package io.meritstream.cli;

import io.meritstream.cli.kafka.EnhancedAudioAssembler;
import io.meritstream.cli.kafka.OutputCollector;
import io.meritstream.cli.kafka.OutputTopics;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.common.errors.WakeupException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
        name = "collect",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Reads the job's output topics into a WAV per channel and a JSONL file per topic.",
            "",
            "Reads with isolation.level=read_committed (only what the exactly-once sinks committed), drops records"
                    + " whose merit-record-id header came before (what an at-least-once topic repeats after a"
                    + " restart) and writes:",
            "  <out>/<session>.<channel>.enhanced.wav   the enhanced audio of each channel (chunks in seq order)",
            "  <out>/<topic>.jsonl                      every record, in Avro's JSON encoding, one per line",
            "until no record arrived for --idle-seconds, --max-seconds passed, or Ctrl-C.",
        },
        footer = {"", "Example:", "  merit collect -b localhost:9092 --out collected --idle-seconds 30"})
public final class CollectCommand implements Callable<Integer>, LogFileOwner {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaConnection kafka;

    @Option(
            names = {"-o", "--out"},
            defaultValue = "collected",
            description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    OutputTopicOptions outputs;

    @Option(
            names = "--idle-seconds",
            defaultValue = "10",
            description = "Stop after this long without a record (default: ${DEFAULT-VALUE}; 0 = never idle).")
    double idleSeconds;

    @Option(
            names = "--max-seconds",
            defaultValue = "0",
            description = "Stop after this long in any case (default: ${DEFAULT-VALUE} = no limit).")
    double maxSeconds;

    @Option(
            names = "--from",
            defaultValue = "earliest",
            description = "Where to start in each topic: earliest or latest (default: ${DEFAULT-VALUE}).")
    String from;

    @Option(
            names = "--audio-jsonl",
            description = "Also write enhanced-audio records as JSONL (large: the audio is in every line).")
    boolean audioJsonl;

    @Override
    public Path logFile() {
        return out.resolve("merit.log");
    }

    @Override
    public Integer call() throws Exception {
        if (!from.equals("earliest") && !from.equals("latest")) {
            throw new ParameterException(spec.commandLine(), "--from must be earliest or latest, got " + from);
        }
        if (idleSeconds < 0 || maxSeconds < 0) {
            throw new ParameterException(spec.commandLine(), "--idle-seconds and --max-seconds must be >= 0");
        }
        OutputTopics topics = outputs.topics();
        Map<String, Path> jsonl = new LinkedHashMap<>();
        for (String topic : topics.all()) {
            if (audioJsonl || !topic.equals(topics.enhancedAudio())) {
                jsonl.put(topic, out.resolve(topic + ".jsonl"));
            }
        }
        Files.createDirectories(out);
        PrintWriter err = spec.commandLine().getErr();
        AtomicBoolean stop = new AtomicBoolean();
        ProgressLine progress = new ProgressLine(err, System.console() != null);
        try (OutputCollector collector = new OutputCollector(
                kafka.properties(), topics, jsonl, from.equals("earliest"), new OutputCollector.Listener() {})) {
            Shutdown.register(() -> {
                stop.set(true);
                collector.wakeup();
            });
            err.printf(
                    "collect: reading %s from %s (read_committed) into %s%n",
                    topics.all(), kafka.bootstrapServers(), out);
            Duration idle = idleSeconds == 0 ? null : Duration.ofMillis((long) (idleSeconds * 1000));
            Duration max = maxSeconds == 0 ? null : Duration.ofMillis((long) (maxSeconds * 1000));
            long start = System.nanoTime();
            OutputCollector.Stop why;
            // Run in slices so the progress line moves while records arrive.
            while (true) {
                Duration slice = Duration.ofMillis(500);
                Duration remaining = max == null ? null : max.minusNanos(System.nanoTime() - start);
                if (remaining != null && (remaining.isNegative() || remaining.isZero())) {
                    why = OutputCollector.Stop.MAX_TIME;
                    break;
                }
                int got;
                try {
                    got = collector.pollOnce(remaining != null && remaining.compareTo(slice) < 0 ? remaining : slice);
                } catch (WakeupException e) {
                    why = OutputCollector.Stop.REQUESTED;
                    break;
                }
                progress.update("collect: " + describe(collector.counts(), topics));
                if (stop.get()) {
                    why = OutputCollector.Stop.REQUESTED;
                    break;
                }
                if (got == 0 && idle != null && collector.idleFor().compareTo(idle) >= 0) {
                    why = OutputCollector.Stop.IDLE;
                    break;
                }
            }
            collector.flush();
            progress.finish("collect: " + describe(collector.counts(), topics));
            for (EnhancedAudioAssembler.Written w : collector.audio().writeAll(out)) {
                err.printf(
                        "  %s  %d chunks, %.1f s%s%n",
                        w.file(),
                        w.chunks(),
                        w.samples() / 16000.0,
                        w.missingSeqs().isEmpty() ? "" : ", missing seq " + w.missingSeqs());
            }
            for (Map.Entry<String, Path> file : jsonl.entrySet()) {
                err.printf("  %s%n", file.getValue());
            }
            if (collector.undecodable() > 0) {
                err.printf("  %d undecodable record(s) skipped (see %s)%n", collector.undecodable(), logFile());
            }
            if (collector.repeats() > 0) {
                err.printf(
                        "  %d repeated record(s) dropped (the same merit-record-id again: an at-least-once topic after"
                                + " a restart)%n",
                        collector.repeats());
            }
            err.println("collect: stopped: "
                    + switch (why) {
                        case IDLE -> "no record for " + idleSeconds + " s";
                        case MAX_TIME -> "--max-seconds reached";
                        case REQUESTED -> "interrupted";
                    });
            Shutdown.unregister();
        }
        return 0;
    }

    static String describe(Map<String, Long> counts, OutputTopics topics) {
        StringBuilder text = new StringBuilder();
        for (String topic : topics.all()) {
            if (!text.isEmpty()) {
                text.append("  ");
            }
            text.append(topic).append(' ').append(counts.getOrDefault(topic, 0L));
        }
        return text.toString();
    }
}
