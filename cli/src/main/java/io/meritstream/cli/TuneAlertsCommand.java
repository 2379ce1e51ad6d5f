package io.meritstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.meritstream.analytics.AnalyticsOptions;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.cli.kafka.AvroJson;
import io.meritstream.cli.report.AlertSweep;
import io.meritstream.cli.report.GroundTruth;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "tune-alerts",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Tries alert settings on collected emotion events and scores each on the calls' ground truth.",
            "",
            "Every setting of the grid (--half-life x --enter x --hops x --max-gap) replays the events through the"
                    + " job's own alert rule (the same code the job runs; replaying the job's settings raises the job's"
                    + " alerts) and reports: negative spans caught, the delay from a span's start to its alert"
                    + " (median, and how many within --target), and false alerts (spike starts outside every negative"
                    + " span of their channel). The model is not run again: events from one demo or collect run serve"
                    + " the whole grid.",
        },
        footer = {
            "",
            "Example (the shipped calls and the held-out generated ones):",
            "  merit demo --once --speed 0 --calls all-calls --out out",
            "  merit tune-alerts --events out/events.jsonl --calls all-calls --out out/alert-settings.json",
        })
public final class TuneAlertsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--events",
            required = true,
            split = ",",
            paramLabel = "FILE",
            description = "events.jsonl files written by demo or collect (Avro JSON, one event per line).")
    List<Path> events;

    @Option(
            names = "--calls",
            required = true,
            split = ",",
            paramLabel = "DIR",
            description = "Directories with the calls' <call>.json ground truth.")
    List<Path> calls;

    @Option(
            names = "--half-life",
            split = ",",
            defaultValue = "1s,1500ms,2s",
            description = "analytics.trend.half-life values (default: ${DEFAULT-VALUE}).")
    List<String> halfLives;

    @Option(
            names = "--enter",
            split = ",",
            defaultValue = "0.5,0.6",
            description = "analytics.alert.enter-threshold values (default: ${DEFAULT-VALUE}).")
    List<Double> enter;

    @Option(
            names = "--hops",
            split = ",",
            defaultValue = "2,3",
            description = "analytics.alert.consecutive-hops (K) values (default: ${DEFAULT-VALUE}).")
    List<Integer> hops;

    @Option(
            names = "--max-gap",
            split = ",",
            defaultValue = "0,1",
            description = "analytics.alert.max-gap-hops (G) values (default: ${DEFAULT-VALUE}).")
    List<Integer> gaps;

    @Option(
            names = "--hop",
            defaultValue = "1s",
            description = "The windowing hop the events were made with (default: ${DEFAULT-VALUE}).")
    String hop;

    @Option(
            names = "--target",
            defaultValue = "5",
            description = "Delay target in seconds, counted per setting (default: ${DEFAULT-VALUE}).")
    double targetS;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write every score as JSON.")
    Path out;

    @Override
    public Integer call() throws Exception {
        Duration hopDuration = duration("--hop", hop);
        List<EmotionEvent> all = new ArrayList<>();
        for (Path file : events) {
            if (!Files.isRegularFile(file)) {
                throw new CliException("no events file " + file, 2, null);
            }
            all.addAll(AvroJson.readLines(file, EmotionEvent.class));
        }
        Map<String, GroundTruth> truths = new TreeMap<>();
        for (Path dir : calls) {
            if (!Files.isDirectory(dir)) {
                throw new CliException("no calls directory " + dir, 2, null);
            }
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".json"))
                        .sorted()
                        .toList()) {
                    GroundTruth truth = GroundTruth.read(f);
                    truths.put(truth.id(), truth);
                }
            }
        }
        List<AlertSweep.Setting> grid = new ArrayList<>();
        for (String h : halfLives) {
            for (double e : enter) {
                for (int k : hops) {
                    for (int g : gaps) {
                        grid.add(new AlertSweep.Setting(duration("--half-life", h), e, k, g));
                    }
                }
            }
        }
        AlertSweep.Setting jobDefault = new AlertSweep.Setting(
                AnalyticsOptions.TREND_HALF_LIFE.defaultValue(),
                AnalyticsOptions.ALERT_ENTER_THRESHOLD.defaultValue(),
                AnalyticsOptions.ALERT_CONSECUTIVE_HOPS.defaultValue(),
                AnalyticsOptions.ALERT_MAX_GAP_HOPS.defaultValue());
        if (!grid.contains(jobDefault)) {
            grid.add(0, jobDefault);
        }

        PrintWriter o = spec.commandLine().getOut();
        o.printf(
                Locale.ROOT,
                "%d events of %d calls with ground truth; %d settings%n%n",
                all.size(),
                truths.size(),
                grid.size());
        o.printf(
                Locale.ROOT,
                "%-40s %8s %12s %10s %7s%n",
                "setting",
                "caught",
                "median delay",
                "<= " + BigDecimal.valueOf(targetS).stripTrailingZeros().toPlainString() + " s",
                "false");
        List<Map<String, Object>> json = new ArrayList<>();
        for (AlertSweep.Setting setting : grid) {
            AlertSweep.Score score;
            try {
                score = AlertSweep.score(all, truths, setting, hopDuration.toMillis() / 1000.0);
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage(), 2, e);
            }
            long withinTarget =
                    score.delaysS().stream().filter(d -> d <= targetS).count();
            o.printf(
                    Locale.ROOT,
                    "%-40s %8s %12s %10d %7d%s%n",
                    setting.describe(),
                    score.delaysS().size() + "/" + score.spans(),
                    score.medianDelayS() == null ? "-" : String.format(Locale.ROOT, "%.1f s", score.medianDelayS()),
                    withinTarget,
                    score.falseAlerts().size(),
                    setting.equals(jobDefault) ? "   (the job's defaults)" : "");
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("half_life_s", setting.halfLife().toMillis() / 1000.0);
            m.put("enter_threshold", setting.enterThreshold());
            m.put("hops", setting.hops());
            m.put("max_gap_hops", setting.maxGapHops());
            m.put("job_default", setting.equals(jobDefault));
            m.put("negative_spans", score.spans());
            m.put("caught", score.delaysS().size());
            m.put("delays_s", score.delaysS());
            m.put("median_delay_s", score.medianDelayS());
            m.put("within_target", withinTarget);
            m.put("false_alerts", score.falseAlerts().size());
            m.put("false_alerts_at", score.falseAlerts());
            json.add(m);
        }
        o.flush();
        if (out != null) {
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), json);
            o.println();
            o.println("Wrote " + out);
        }
        return 0;
    }

    private Duration duration(String option, String value) {
        return DurationOption.parse(spec, option, value);
    }
}
