package io.meritstream.cli.report;

import io.meritstream.avro.AlertKind;
import io.meritstream.avro.AlertMark;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.ChannelConversation;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.SessionSummary;
import io.meritstream.avro.TrendKind;
import io.meritstream.cli.FileNames;
import io.meritstream.cli.audio.WavAudio;
import io.meritstream.cli.kafka.AvroJson;
import io.meritstream.cli.kafka.EnhancedAudioAssembler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The demo's report: for each call, {@code <call>.trend.png} (emotion trend per channel, alerts, scripted ground truth)
 * and {@code <call>.<channel>.spectrogram.png} (noisy vs enhanced), and {@code report.html} showing them with a
 * summary: for every scripted negative span, whether an alert started inside it and how long after its start; every
 * alert outside the scripted negative spans, which is a false alert; and from when on each channel was judged against
 * its speaker reference. When the call summaries hold a call's FINAL record, its conversation metrics follow: talk time
 * and share per channel, silence, overtalk, interruptions, speech level, the longest customer monologue, each channel's
 * emotion shares and alerts. {@code calls-evaluation.json} holds the detection numbers for scripts.
 */
public final class ReportGenerator {
    /** Slack after a scripted negative span in which an alert still counts: windows are 3 s and the trend smooths. */
    static final double DETECTION_SLACK_S = 4.0;

    /**
     * The inputs: JSONL files written by collect/demo (the summaries' file may be missing or null: no conversation
     * metrics), the calls' ground truth and noisy audio, the enhanced WAVs.
     */
    public record Inputs(
            Path eventsJsonl,
            Path trendsJsonl,
            Path alertsJsonl,
            Path summariesJsonl,
            Path callsDir,
            Path enhancedDir) {
        /** Without call summaries. */
        public Inputs(Path eventsJsonl, Path trendsJsonl, Path alertsJsonl, Path callsDir, Path enhancedDir) {
            this(eventsJsonl, trendsJsonl, alertsJsonl, null, callsDir, enhancedDir);
        }
    }

    /** One scripted negative span and the alert that caught it, if any. */
    public record Detection(String sessionId, GroundTruth.Span span, Double alertAtS) {
        public boolean detected() {
            return alertAtS != null;
        }
    }

    /** A negative-spike alert that started outside every scripted negative span of its channel. */
    public record FalseAlert(String sessionId, String channel, double atS) {}

    /** What was written. */
    public record Result(Path html, List<Path> images, List<Detection> detections, List<FalseAlert> falseAlerts) {}

    private final Inputs inputs;

    public ReportGenerator(Inputs inputs) {
        this.inputs = inputs;
    }

    public Result write(Path outDir) throws IOException {
        Files.createDirectories(outDir);
        List<EmotionEvent> events = AvroJson.readLines(inputs.eventsJsonl(), EmotionEvent.class);
        List<EmotionTrend> trends = AvroJson.readLines(inputs.trendsJsonl(), EmotionTrend.class);
        List<EmotionAlert> alerts = AvroJson.readLines(inputs.alertsJsonl(), EmotionAlert.class);
        Map<String, CallSummary> finals = new TreeMap<>();
        if (inputs.summariesJsonl() != null) {
            for (CallSummary summary : AvroJson.readLines(inputs.summariesJsonl(), CallSummary.class)) {
                if (summary.getKind() == CallSummaryKind.FINAL) {
                    finals.put(summary.getSessionId(), summary);
                }
            }
        }
        TreeSet<String> sessions = new TreeSet<>();
        events.forEach(e -> sessions.add(e.getSessionId()));
        trends.forEach(t -> sessions.add(t.getSessionId()));
        alerts.forEach(a -> sessions.add(a.getSessionId()));
        sessions.addAll(finals.keySet());

        List<Path> images = new ArrayList<>();
        List<Detection> detections = new ArrayList<>();
        List<FalseAlert> falseAlerts = new ArrayList<>();
        Map<String, Double> referenceFrom = new TreeMap<>();
        StringBuilder body = new StringBuilder();
        if (sessions.isEmpty()) {
            body.append("<p class=warn>No emotion events, trends or alerts were collected.</p>");
        }
        for (String session : sessions) {
            Optional<GroundTruth> truth = GroundTruth.find(inputs.callsDir(), session);
            TreeSet<String> channels = new TreeSet<>();
            events.stream().filter(e -> e.getSessionId().equals(session)).forEach(e -> channels.add(e.getChannel()));
            trends.stream().filter(t -> t.getSessionId().equals(session)).forEach(t -> channels.add(t.getChannel()));
            truth.ifPresent(g -> channels.addAll(g.channelFiles().keySet()));

            List<Charts.ChannelTrend> panels = new ArrayList<>();
            Map<String, SessionSummary> summaries = new TreeMap<>();
            double duration = truth.map(GroundTruth::durationS).orElse(0.0);
            for (String channel : channels) {
                List<EmotionTrend> channelTrends = trends.stream()
                        .filter(t -> t.getSessionId().equals(session)
                                && t.getChannel().equals(channel))
                        .sorted((a, b) -> Long.compare(a.getWindowIndex(), b.getWindowIndex()))
                        .toList();
                List<EmotionAlert> channelAlerts = alerts.stream()
                        .filter(a -> a.getSessionId().equals(session)
                                && a.getChannel().equals(channel))
                        .sorted((a, b) -> Long.compare(a.getTimeMs(), b.getTimeMs()))
                        .toList();
                List<GroundTruth.Span> spans = truth.map(g -> g.spans(channel)).orElse(List.of());
                List<Double> starts = spikeStartsS(channelAlerts);
                panels.add(new Charts.ChannelTrend(channel, channelTrends, channelAlerts, spans));
                channelTrends.stream()
                        .filter(t -> t.getKind() == TrendKind.SESSION_SUMMARY && t.getSummary() != null)
                        .forEach(t -> summaries.put(channel, t.getSummary()));
                for (EmotionTrend t : channelTrends) {
                    duration = Math.max(duration, t.getTimeMs() / 1000.0);
                }
                for (GroundTruth.Span span : spans) {
                    if (span.negative()) {
                        detections.add(new Detection(session, span, firstAlertIn(starts, span)));
                    }
                }
                for (double t : starts) {
                    if (outsideNegativeSpans(t, spans)) {
                        falseAlerts.add(new FalseAlert(session, channel, t));
                    }
                }
                events.stream()
                        .filter(e -> e.getSessionId().equals(session)
                                && e.getChannel().equals(channel)
                                && e.getSpeakerReferenceSeconds() > 0)
                        .mapToDouble(e -> e.getWindowEndMs() / 1000.0)
                        .min()
                        .ifPresent(t -> referenceFrom.put(session + "/" + channel, t));
            }
            String title = session
                    + truth.map(g -> g.title().isEmpty() ? "" : ": " + g.title())
                            .orElse("");
            Path trendPng = FileNames.inside(outDir, FileNames.part(session) + ".trend.png");
            Charts.savePng(Charts.trendChart(title, panels, duration), trendPng, 1200, 260 + 230 * panels.size());
            images.add(trendPng);

            body.append("<section><h2>").append(html(title)).append("</h2>\n");
            body.append(summaryTable(session, panels, summaries, detections, falseAlerts, referenceFrom));
            if (finals.containsKey(session)) {
                body.append(conversation(finals.get(session)));
            }
            body.append("<img src=\"")
                    .append(trendPng.getFileName())
                    .append("\" alt=\"emotion trend of ")
                    .append(html(session))
                    .append("\">\n");
            for (String channel : channels) {
                Path noisyWav = noisyWav(truth, session, channel);
                Path enhancedWav = inputs.enhancedDir() == null
                        ? null
                        : FileNames.inside(inputs.enhancedDir(), EnhancedAudioAssembler.fileName(session, channel));
                Spectrogram noisy = spectrogram(noisyWav);
                Spectrogram enhanced = spectrogram(enhancedWav);
                if (noisy == null && enhanced == null) {
                    continue;
                }
                Path png = FileNames.inside(
                        outDir, FileNames.part(session) + "." + FileNames.part(channel) + ".spectrogram.png");
                Charts.savePng(
                        Charts.spectrogramChart(session + " " + channel + ": noisy vs enhanced", noisy, enhanced),
                        png,
                        1200,
                        560);
                images.add(png);
                body.append("<h3>").append(html(channel)).append("</h3>\n<p>");
                if (noisy != null) {
                    body.append("noisy <audio controls preload=none src=\"")
                            .append(link(outDir, noisyWav))
                            .append("\"></audio> ");
                }
                if (enhanced != null) {
                    body.append("enhanced <audio controls preload=none src=\"")
                            .append(link(outDir, enhancedWav))
                            .append("\"></audio>");
                }
                body.append("</p>\n<img src=\"")
                        .append(png.getFileName())
                        .append("\" alt=\"spectrograms of ")
                        .append(html(session + " " + channel))
                        .append("\">\n");
            }
            body.append("</section>\n");
        }
        Path html = outDir.resolve("report.html");
        Files.writeString(html, page(body.toString(), detections, falseAlerts), StandardCharsets.UTF_8);
        CallEvaluation.write(outDir.resolve(CallEvaluation.FILE_NAME), detections, falseAlerts, referenceFrom);
        return new Result(html, images, detections, falseAlerts);
    }

    /** When each spike of a channel's alerts (in time order) started, in seconds of the channel's audio. */
    static List<Double> spikeStartsS(List<EmotionAlert> alerts) {
        return alerts.stream()
                .filter(a -> a.getKind() == AlertKind.NEGATIVE_SPIKE_START)
                .map(a -> a.getTimeMs() / 1000.0)
                .toList();
    }

    /** Whether a spike that started at {@code t} s lies outside every negative span (with the detection slack). */
    static boolean outsideNegativeSpans(double t, List<GroundTruth.Span> spans) {
        for (GroundTruth.Span span : spans) {
            if (span.negative() && t >= span.startS() && t <= span.endS() + DETECTION_SLACK_S) {
                return false;
            }
        }
        return true;
    }

    /**
     * The first spike start (of {@code startsS}, in time order) inside the span, with {@link #DETECTION_SLACK_S} after
     * its end, or null.
     */
    static Double firstAlertIn(List<Double> startsS, GroundTruth.Span span) {
        for (double t : startsS) {
            if (t >= span.startS() && t <= span.endS() + DETECTION_SLACK_S) {
                return t;
            }
        }
        return null;
    }

    private static String summaryTable(
            String session,
            List<Charts.ChannelTrend> panels,
            Map<String, SessionSummary> summaries,
            List<Detection> detections,
            List<FalseAlert> falseAlerts,
            Map<String, Double> referenceFrom) {
        StringBuilder t = new StringBuilder("<table><tr><th>channel</th><th>dominant</th><th>peak negativity</th>"
                + "<th>alerts</th><th>false alerts</th><th>speaker reference</th><th>scripted negative spans</th>"
                + "</tr>\n");
        for (Charts.ChannelTrend panel : panels) {
            SessionSummary summary = summaries.get(panel.channel());
            long starts = panel.alerts().stream()
                    .filter(a -> a.getKind() == AlertKind.NEGATIVE_SPIKE_START)
                    .count();
            StringBuilder spans = new StringBuilder();
            for (Detection d : detections) {
                if (d.sessionId().equals(session) && d.span().channel().equals(panel.channel())) {
                    spans.append(String.format(
                            Locale.ROOT,
                            "%s %.1f–%.1f s: %s<br>",
                            d.span().emotion(),
                            d.span().startS(),
                            d.span().endS(),
                            d.detected()
                                    ? String.format(
                                            Locale.ROOT,
                                            "<span class=ok>detected, alert at %.1f s (%.1f s after its start)</span>",
                                            d.alertAtS(),
                                            d.alertAtS() - d.span().startS())
                                    : "<span class=bad>not detected</span>"));
                }
            }
            t.append("<tr><td>")
                    .append(html(panel.channel()))
                    .append("</td><td>")
                    .append(
                            summary == null
                                    ? "–"
                                    : summary.getDominant().toString().toLowerCase(Locale.ROOT))
                    .append("</td><td>")
                    .append(
                            summary == null
                                    ? "–"
                                    : String.format(
                                            Locale.ROOT,
                                            "%.2f at %.1f s",
                                            summary.getPeakNegativity(),
                                            summary.getPeakNegativityTimeMs() / 1000.0))
                    .append("</td><td>")
                    .append(starts)
                    .append("</td><td>")
                    .append(falseAlertCell(session, panel.channel(), falseAlerts))
                    .append("</td><td>")
                    .append(
                            referenceFrom.containsKey(session + "/" + panel.channel())
                                    ? String.format(
                                            Locale.ROOT,
                                            "from %.0f s on",
                                            referenceFrom.get(session + "/" + panel.channel()))
                                    : "not used")
                    .append("</td><td>")
                    .append(spans.isEmpty() ? "none" : spans.toString())
                    .append("</td></tr>\n");
        }
        return t.append("</table>\n").toString();
    }

    /** The conversation metrics of a call's FINAL summary: a line for the call, a row per channel. */
    static String conversation(CallSummary s) {
        StringBuilder t = new StringBuilder();
        t.append("<h3>Conversation</h3>\n<p class=conversation>")
                .append(String.format(
                        Locale.ROOT,
                        "%.1f s of call: silence %s, overtalk %s, longest customer monologue %.1f s (talk judged by"
                                + " %s)",
                        s.getDurationMs() / 1000.0,
                        percent(s.getSilenceShare()),
                        percent(s.getOvertalkShare()),
                        s.getLongestCustomerMonologueMs() / 1000.0,
                        html(s.getSpeechGate())))
                .append("</p>\n<table class=conversation data-call=\"")
                .append(html(s.getSessionId()))
                .append("\"><tr><th>channel</th><th>talk</th><th>speech level</th><th>interruptions</th>"
                        + "<th>longest monologue</th><th>dominant</th><th>emotion shares</th><th>peak negativity</th>"
                        + "<th>alerts</th></tr>\n");
        for (ChannelConversation c : s.getChannels()) {
            List<String> marks = new ArrayList<>();
            for (AlertMark mark : c.getAlerts()) {
                marks.add(String.format(
                        Locale.ROOT,
                        "%s %.1f s (%.2f)",
                        mark.getKind() == AlertKind.NEGATIVE_SPIKE_START ? "start" : "end",
                        mark.getTimeMs() / 1000.0,
                        mark.getScore()));
            }
            t.append("<tr><td>")
                    .append(html(c.getChannel()))
                    .append("</td><td>")
                    .append(String.format(
                            Locale.ROOT, "%.1f s (%s)", c.getTalkMs() / 1000.0, percent(c.getTalkShare())))
                    .append("</td><td>")
                    .append(c.getTalkMs() == 0 ? "–" : String.format(Locale.ROOT, "%.1f dBFS", c.getSpeechLevelDbfs()))
                    .append("</td><td>")
                    .append(c.getInterruptions())
                    .append("</td><td>")
                    .append(String.format(Locale.ROOT, "%.1f s", c.getLongestMonologueMs() / 1000.0))
                    .append("</td><td>")
                    .append(c.getDominant().toString().toLowerCase(Locale.ROOT))
                    .append("</td><td>")
                    .append(shares(c.getEmotionShare()))
                    .append("</td><td>")
                    .append(String.format(
                            Locale.ROOT, "%.2f at %.1f s", c.getPeakNegativity(), c.getPeakNegativityTimeMs() / 1000.0))
                    .append("</td><td>")
                    .append(marks.isEmpty() ? "none" : String.join(", ", marks))
                    .append("</td></tr>\n");
        }
        return t.append("</table>\n").toString();
    }

    private static String shares(EmotionProbabilities p) {
        return "angry " + percent(p.getAngry()) + ", sad " + percent(p.getSad()) + ", happy " + percent(p.getHappy())
                + ", neutral " + percent(p.getNeutral());
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.0f %%", 100 * share);
    }

    private static String falseAlertCell(String session, String channel, List<FalseAlert> falseAlerts) {
        List<String> at = falseAlerts.stream()
                .filter(f -> f.sessionId().equals(session) && f.channel().equals(channel))
                .map(f -> String.format(Locale.ROOT, "%.1f s", f.atS()))
                .toList();
        return at.isEmpty() ? "0" : "<span class=bad>" + at.size() + " (" + String.join(", ", at) + ")</span>";
    }

    private static String page(String body, List<Detection> detections, List<FalseAlert> falseAlerts) {
        long detected = detections.stream().filter(Detection::detected).count();
        String headline = (detections.isEmpty()
                        ? "No scripted negative spans in these calls."
                        : String.format(
                                "%d of %d scripted negative spans detected by an alert.", detected, detections.size()))
                + " " + falseAlerts.size() + " false alert" + (falseAlerts.size() == 1 ? "" : "s") + ".";
        return """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>merit demo report</title>
                <style>
                body { font-family: sans-serif; margin: 2em auto; max-width: 1240px; color: #222; }
                img { max-width: 100%%; border: 1px solid #ddd; margin: 0.5em 0; }
                table { border-collapse: collapse; margin: 0.5em 0; }
                td, th { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
                .ok { color: #1a7f37; font-weight: bold; } .bad { color: #c62828; font-weight: bold; }
                .warn { color: #c62828; } section { margin-bottom: 3em; }
                </style></head><body>
                <h1>merit demo report</h1>
                <p>%s Trends are plotted at the end of each analysis window (when they are known), so they lag the
                script by up to a window.</p>
                %s
                </body></html>
                """
                .formatted(html(headline), body);
    }

    private Path noisyWav(Optional<GroundTruth> truth, String session, String channel) {
        if (inputs.callsDir() == null) {
            return null;
        }
        String name = truth.map(g -> g.channelFiles().get(channel)).orElse(null);
        return FileNames.inside(
                inputs.callsDir(),
                name != null ? name : FileNames.part(session) + "." + FileNames.part(channel) + ".wav");
    }

    private static Spectrogram spectrogram(Path wav) throws IOException {
        if (wav == null || !Files.isRegularFile(wav)) {
            return null;
        }
        WavAudio.Audio audio = WavAudio.read(wav);
        if (audio.channels().length == 0) {
            return null;
        }
        // 512-point frames every 10 ms: 31 Hz bins at 16 kHz, enough to see harmonics and the noise floor.
        int hop = Math.max(1, audio.sampleRate() / 100);
        return Spectrogram.compute(audio.channels()[0], audio.sampleRate(), 512, hop);
    }

    private static String link(Path from, Path to) {
        Path base = from.toAbsolutePath().normalize();
        Path target = to.toAbsolutePath().normalize();
        try {
            return base.relativize(target).toString().replace('\\', '/');
        } catch (IllegalArgumentException e) {
            return target.toUri().toString();
        }
    }

    static String html(String text) {
        return text.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
