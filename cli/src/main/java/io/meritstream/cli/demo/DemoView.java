package io.meritstream.cli.demo;

import io.meritstream.avro.AlertKind;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.TrendKind;
import io.meritstream.cli.ProgressLine;
import io.meritstream.cli.kafka.OutputCollector;
import io.meritstream.cli.kafka.Replayer;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The demo's live view of the job's outputs, per call and channel: current emotion probabilities, a negativity
 * sparkline, alerts as they fire, throughput and latency. On a terminal it redraws one screen in place (ANSI); otherwise
 * it prints plain lines: each alert as it fires and a status every few seconds. Fed by the collector's thread, drawn by
 * the demo's; all methods are synchronized.
 */
public final class DemoView implements OutputCollector.Listener {
    private static final String SPARKS = "▁▂▃▄▅▆▇█";
    private static final int SPARK_WIDTH = 32;
    private static final String RESET = "\u001B[0m";
    private static final String RED = "\u001B[31m";
    private static final String BOLD = "\u001B[1m";
    private static final String DIM = "\u001B[2m";

    /** What the view knows of one channel. */
    static final class Channel {
        EmotionProbabilities probabilities;
        String label = "–";
        final Deque<Float> negativity = new ArrayDeque<>();
        float lastNegativity;
        boolean alertActive;
        double alertSinceS;
        long events;
        long audioSamples;
        boolean summaryArrived;
        boolean audioEnded;
        /** Seconds of the channel's own speech its latest window was judged against; 0 = judged alone. */
        float referenceSeconds;

        /**
         * Both the session summary and the last enhanced-audio chunk arrived. They come on topics with different
         * guarantees: the summary at once, the exactly-once audio at the next checkpoint.
         */
        boolean finished() {
            return summaryArrived && audioEnded;
        }
    }

    private final PrintWriter out;
    private final boolean ansi;
    private final double speed;
    private final Map<String, Map<String, Channel>> calls = new TreeMap<>();
    private final Map<String, String> titles = new LinkedHashMap<>();
    private final List<String> alertLog = new ArrayList<>();
    private final long[] latencies = new long[256];
    private final long[] visibleLatencies = new long[256];
    private final long[] alertVisibleLatencies = new long[64];
    private int latencyCount;
    private int visibleCount;
    private int alertVisibleCount;
    private long events;
    private long deadLetters;
    private long enhancedSamples;
    private Replayer.Progress replay = new Replayer.Progress(0, 0, 0, 0);
    private long replayStartMs;
    private final long startNanos = System.nanoTime();
    private String header = "";
    private String note = "";
    private int alertsPrinted;
    private long lastPlainStatusNanos = System.nanoTime();
    private boolean firstDraw = true;
    private boolean headerPrinted;

    public DemoView(PrintWriter out, boolean ansi, double speed) {
        this.out = out;
        this.ansi = ansi;
        this.speed = speed;
    }

    /** Declares a stream before its first output, so that it shows from the start. */
    public synchronized void expect(String sessionId, String channel, String title) {
        calls.computeIfAbsent(sessionId, k -> new TreeMap<>()).computeIfAbsent(channel, k -> new Channel());
        if (title != null && !title.isEmpty()) {
            titles.put(sessionId, title);
        }
    }

    public synchronized void header(String text) {
        header = text;
    }

    public synchronized void note(String text) {
        note = text;
    }

    public synchronized void replayStarted(long epochMs) {
        replayStartMs = epochMs;
    }

    public synchronized void replayProgress(Replayer.Progress progress) {
        replay = progress;
    }

    @Override
    public synchronized void onChunk(EnhancedAudioChunk chunk) {
        Channel channel = channel(chunk.getSessionId(), chunk.getChannel());
        long samples = chunk.getPayload().remaining() / 2;
        channel.audioSamples += samples;
        channel.audioEnded |= chunk.getEndOfStream();
        enhancedSamples += samples;
    }

    @Override
    public synchronized void onEvent(EmotionEvent event) {
        Channel channel = channel(event.getSessionId(), event.getChannel());
        channel.probabilities = event.getProbabilities();
        channel.label = event.getSpeech() ? event.getLabel().toString() : "(silence)";
        channel.referenceSeconds = event.getSpeakerReferenceSeconds();
        channel.events++;
        events++;
        latencies[latencyCount++ % latencies.length] = event.getLatencyMs();
        long visible = visibleLatency(event.getWindowEndMs());
        if (visible >= 0) {
            visibleLatencies[visibleCount++ % visibleLatencies.length] = visible;
        }
    }

    @Override
    public synchronized void onTrend(EmotionTrend trend) {
        Channel channel = channel(trend.getSessionId(), trend.getChannel());
        if (trend.getKind() == TrendKind.SESSION_SUMMARY) {
            channel.summaryArrived = true;
            return;
        }
        channel.lastNegativity = trend.getNegativity();
        channel.negativity.addLast(trend.getNegativity());
        while (channel.negativity.size() > SPARK_WIDTH) {
            channel.negativity.removeFirst();
        }
    }

    @Override
    public synchronized void onAlert(EmotionAlert alert) {
        Channel channel = channel(alert.getSessionId(), alert.getChannel());
        boolean start = alert.getKind() == AlertKind.NEGATIVE_SPIKE_START;
        long visible = visibleLatency(alert.getTimeMs());
        if (start && visible >= 0) {
            alertVisibleLatencies[alertVisibleCount++ % alertVisibleLatencies.length] = visible;
        }
        channel.alertActive = start;
        if (start) {
            channel.alertSinceS = alert.getTimeMs() / 1000.0;
        }
        alertLog.add(String.format(
                Locale.ROOT,
                "%s %-9s %s at %5.1f s  negativity %.2f (%s)",
                alert.getSessionId(),
                alert.getChannel(),
                start ? "NEGATIVE SPIKE START" : "negative spike end  ",
                alert.getTimeMs() / 1000.0,
                alert.getScore(),
                alert.getEvidence().getDominant().toString().toLowerCase(Locale.ROOT)));
    }

    @Override
    public synchronized void onDeadLetter(DeadLetter letter) {
        deadLetters++;
    }

    /** True once every expected stream has its session summary. */
    public synchronized boolean allFinished() {
        return !calls.isEmpty()
                && calls.values().stream().flatMap(m -> m.values().stream()).allMatch(Channel::finished);
    }

    public synchronized Set<String> unfinished() {
        Set<String> names = new java.util.TreeSet<>();
        calls.forEach((session, channels) -> channels.forEach((name, c) -> {
            if (!c.finished()) {
                names.add(session + "/" + name);
            }
        }));
        return names;
    }

    public synchronized long events() {
        return events;
    }

    public synchronized long deadLetters() {
        return deadLetters;
    }

    public synchronized List<String> alerts() {
        return List.copyOf(alertLog);
    }

    /** Redraws the screen (terminal) or prints new alerts and, every few seconds, a status (plain). */
    public synchronized void draw() {
        if (ansi) {
            drawScreen();
        } else {
            drawPlain(false);
        }
    }

    /** The last status, printed in full (plain) or drawn once more (terminal). */
    public synchronized void drawFinal() {
        if (ansi) {
            drawScreen();
        } else {
            drawPlain(true);
        }
    }

    private void drawScreen() {
        StringBuilder s = new StringBuilder();
        if (firstDraw) {
            s.append("\u001B[2J");
            firstDraw = false;
        }
        s.append("\u001B[H");
        line(s, BOLD + header + RESET);
        line(s, replayLine() + "   " + throughputLine());
        line(s, latencyLine());
        line(s, "");
        calls.forEach((session, channels) -> {
            String title = titles.get(session);
            line(s, BOLD + session + RESET + (title == null ? "" : DIM + "  " + truncate(title, 90) + RESET));
            channels.forEach((name, c) -> line(s, channelLine(name, c, true)));
            line(s, "");
        });
        line(s, BOLD + "alerts" + RESET);
        List<String> recent = alertLog.subList(Math.max(0, alertLog.size() - 6), alertLog.size());
        if (recent.isEmpty()) {
            line(s, DIM + "  none yet" + RESET);
        }
        for (String alert : recent) {
            line(s, (alert.contains("START") ? RED : DIM) + "  " + alert + RESET);
        }
        if (!note.isEmpty()) {
            line(s, "");
            line(s, note);
        }
        s.append("\u001B[J");
        out.print(s);
        out.flush();
    }

    private void drawPlain(boolean full) {
        if (!headerPrinted && !header.isEmpty()) {
            out.println(header);
            headerPrinted = true;
        }
        while (alertsPrinted < alertLog.size()) {
            out.println(elapsed() + " ALERT " + alertLog.get(alertsPrinted++));
        }
        long now = System.nanoTime();
        if (full || now - lastPlainStatusNanos >= 5_000_000_000L) {
            lastPlainStatusNanos = now;
            out.println(elapsed() + " " + replayLine() + "  " + throughputLine() + "  " + latencyLine());
            calls.forEach((session, channels) ->
                    channels.forEach((name, c) -> out.println("    " + session + " " + channelLine(name, c, false))));
        }
        out.flush();
    }

    private String channelLine(String name, Channel c, boolean colour) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "  %-9s ", name));
        EmotionProbabilities p = c.probabilities;
        if (p == null) {
            s.append(colour ? DIM : "").append("waiting for the first window").append(colour ? RESET : "");
            return s.toString();
        }
        s.append(String.format(
                Locale.ROOT,
                "ang %s%3.0f%% sad %s%3.0f%% hap %s%3.0f%% neu %s%3.0f%%  %-9s ",
                spark(p.getAngry()),
                100 * p.getAngry(),
                spark(p.getSad()),
                100 * p.getSad(),
                spark(p.getHappy()),
                100 * p.getHappy(),
                spark(p.getNeutral()),
                100 * p.getNeutral(),
                c.label.toLowerCase(Locale.ROOT)));
        StringBuilder line = new StringBuilder();
        for (float v : c.negativity) {
            line.append(spark(v));
        }
        s.append("negativity ")
                .append(String.format("%-" + SPARK_WIDTH + "s", line))
                .append(String.format(Locale.ROOT, " %.2f", c.lastNegativity));
        // The speaker reference: "ref 12s" once the channel is judged against 12 s of its own earlier speech, "ref -"
        // while it warms up (or when the model takes none).
        s.append(colour ? DIM : "")
                .append(
                        c.referenceSeconds > 0
                                ? String.format(Locale.ROOT, "  ref %2.0fs", c.referenceSeconds)
                                : "  ref  -  ")
                .append(colour ? RESET : "");
        if (c.alertActive) {
            s.append(colour ? RED + BOLD : "")
                    .append(String.format(Locale.ROOT, "  ALERT since %.1f s", c.alertSinceS))
                    .append(colour ? RESET : "");
        }
        if (c.finished()) {
            s.append(colour ? DIM : "").append("  done").append(colour ? RESET : "");
        }
        return s.toString();
    }

    private String replayLine() {
        double fraction = replay.framesTotal() == 0 ? 0 : replay.framesSent() / (double) replay.framesTotal();
        return String.format(
                Locale.ROOT,
                "replay %s %3.0f%% (%.0f s of audio sent)",
                ProgressLine.bar(fraction, 20),
                100 * fraction,
                replay.audioMsSent() / 1000);
    }

    private String throughputLine() {
        double wall = (System.nanoTime() - startNanos) / 1e9;
        double audio = enhancedSamples / 16000.0;
        return String.format(
                Locale.ROOT,
                "enhanced %.0f s of audio (%.1f s per s)  events %d  dead letters %d",
                audio,
                wall > 0 ? audio / wall : 0,
                events,
                deadLetters);
    }

    /**
     * From the moment the audio up to {@code evidenceEndMs} of a channel was complete (at replay pace) to now, when this
     * consumer sees a record about it; -1 when the replay's pace is unknown.
     */
    private long visibleLatency(long evidenceEndMs) {
        if (replayStartMs <= 0 || speed <= 0) {
            return -1;
        }
        long audioCompleteMs = replayStartMs + Math.round(evidenceEndMs / speed);
        return Math.max(0, System.currentTimeMillis() - audioCompleteMs);
    }

    private String latencyLine() {
        return String.format(
                Locale.ROOT,
                "latency: job p50 %s p99 %s   audio to visible: events p50 %s p99 %s, alerts p50 %s max %s",
                percentile(latencies, latencyCount, 0.5),
                percentile(latencies, latencyCount, 0.99),
                percentile(visibleLatencies, visibleCount, 0.5),
                percentile(visibleLatencies, visibleCount, 0.99),
                percentile(alertVisibleLatencies, alertVisibleCount, 0.5),
                percentile(alertVisibleLatencies, alertVisibleCount, 1.0));
    }

    static String percentile(long[] ring, int count, double q) {
        int n = Math.min(count, ring.length);
        if (n == 0) {
            return "–";
        }
        long[] sorted = Arrays.copyOf(ring, n);
        Arrays.sort(sorted);
        return sorted[(int) Math.min(n - 1, Math.floor(q * n))] + " ms";
    }

    /** One Unicode block for a value in [0, 1]. */
    static char spark(float value) {
        float v = Float.isFinite(value) ? Math.max(0, Math.min(1, value)) : 0;
        return SPARKS.charAt(Math.min(SPARKS.length() - 1, (int) (v * SPARKS.length())));
    }

    private String elapsed() {
        return String.format(Locale.ROOT, "[%5.1f s]", (System.nanoTime() - startNanos) / 1e9);
    }

    private Channel channel(String session, String channel) {
        return calls.computeIfAbsent(session, k -> new TreeMap<>()).computeIfAbsent(channel, k -> new Channel());
    }

    private static void line(StringBuilder s, String text) {
        s.append(text).append("\u001B[K\n");
    }

    private static String truncate(String text, int width) {
        return text.length() <= width ? text : text.substring(0, width - 1) + "…";
    }
}
