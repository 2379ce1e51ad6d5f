package io.meritstream.cli.watch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.TrendKind;
import io.meritstream.cli.kafka.AvroJson;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;

/**
 * What the supervisor page shows, kept in bounded memory, and the fan-out of every change to the connected pages.
 *
 * <p>Each record the feed reads becomes one message, a line of JSON {@code {"kind": K, "value": R}} with {@code R} the
 * record in Avro's JSON encoding ({@link AvroJson}) and {@code K} one of {@code event}, {@code trend}, {@code alert},
 * {@code summary}; the state adds {@code {"kind":"history",...}} (a channel's negativity so far), {@code
 * {"kind":"finished","sessionId":...}} (a call ended: its FINAL call summary arrived, or every channel's
 * SESSION_SUMMARY trend), {@code {"kind":"removed","sessionId":...}} (a call dropped from memory) and {@code
 * {"kind":"reset"}} and {@code {"kind":"ready"}} (a snapshot begins and ends).
 *
 * <p>A page that connects gets a snapshot first: {@code reset}, the messages that rebuild the current state (per call
 * the latest event and trend of each channel, its negativity history, the alerts and the latest call summary), then
 * {@code ready}; then every change as it happens. The snapshot is taken and the subscription registered under one
 * lock, so a page sees every change exactly once, in order.
 *
 * <p>Bounds ({@link Limits}): live calls (the least recently updated is dropped beyond the cap), finished calls (the
 * oldest dropped first, and records arriving for it later ignored), channels per call, history points per channel,
 * alerts per call, and messages waiting for each page: a page that falls that far behind is disconnected (its browser
 * reconnects and starts again from a snapshot). Thread-safe: the feed's thread publishes, the server's threads
 * subscribe.
 */
public final class SupervisorState {
    /** The bounds of the state. */
    public record Limits(
            int liveCalls,
            int finishedCalls,
            int channelsPerCall,
            int historyPoints,
            int alertsPerCall,
            int pageQueue) {
        public static final Limits DEFAULTS = new Limits(500, 50, 8, 300, 100, 10_000);

        public Limits {
            if (liveCalls < 1
                    || finishedCalls < 1
                    || channelsPerCall < 1
                    || historyPoints < 1
                    || alertsPerCall < 1
                    || pageQueue < 1) {
                throw new IllegalArgumentException("every limit must be at least 1");
            }
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Finished calls dropped from memory that are still remembered by id, so that late records do not revive them. */
    private static final int FORGOTTEN_IDS = 2_000;

    private final Limits limits;
    /** Access order: the first entry is the least recently updated live call. */
    private final LinkedHashMap<String, Call> live = new LinkedHashMap<>(16, 0.75f, true);
    /** Insertion order: the first entry finished first. */
    private final LinkedHashMap<String, Call> finished = new LinkedHashMap<>();

    private final LinkedHashSet<String> forgotten = new LinkedHashSet<>();
    private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
    private long nextCallSeq;
    private long records;

    public SupervisorState() {
        this(Limits.DEFAULTS);
    }

    public SupervisorState(Limits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    public Limits limits() {
        return limits;
    }

    public synchronized void onEvent(EmotionEvent event) {
        records++;
        Channel channel = channel(event.getSessionId(), event.getChannel());
        if (channel == null) {
            return;
        }
        channel.event = message("event", event);
        publish(channel.event);
    }

    public synchronized void onTrend(EmotionTrend trend) {
        records++;
        Call call = call(trend.getSessionId());
        Channel channel = channel(call, trend.getChannel());
        if (channel == null) {
            return;
        }
        String message = message("trend", trend);
        if (trend.getKind() == TrendKind.SESSION_SUMMARY) {
            channel.sessionSummary = message;
            publish(message);
            if (call.summaryFinal == null && call.channels.values().stream().allMatch(c -> c.sessionSummary != null)) {
                finish(call);
            }
            return;
        }
        if (trend.getTimeMs() > channel.lastTrendTimeMs) {
            channel.lastTrendTimeMs = trend.getTimeMs();
            channel.trend = message;
            channel.history.addLast(new Point(trend.getTimeMs(), trend.getNegativity()));
            while (channel.history.size() > limits.historyPoints()) {
                channel.history.removeFirst();
            }
            publish(message);
        }
    }

    public synchronized void onAlert(EmotionAlert alert) {
        records++;
        Call call = call(alert.getSessionId());
        if (channel(call, alert.getChannel()) == null) {
            return;
        }
        // An at-least-once topic repeats records after a restart; the same alert twice would look like two.
        String key =
                alert.getChannel() + "|" + alert.getKind() + "|" + alert.getWindowIndex() + "|" + alert.getTimeMs();
        if (!call.alertKeys.add(key)) {
            return;
        }
        call.alerts.addLast(new Alert(key, message("alert", alert)));
        while (call.alerts.size() > limits.alertsPerCall()) {
            call.alertKeys.remove(call.alerts.removeFirst().key());
        }
        publish(call.alerts.peekLast().message());
    }

    public synchronized void onSummary(CallSummary summary) {
        records++;
        Call call = call(summary.getSessionId());
        if (call == null) {
            return;
        }
        boolean isFinal = summary.getKind() == CallSummaryKind.FINAL;
        if (call.summaryFinal != null && !isFinal) {
            // A progress record after the call's end (a repeat, or one from another partition's poll): the end wins.
            return;
        }
        call.summary = message("summary", summary);
        if (isFinal) {
            call.summaryFinal = call.summary;
        }
        publish(call.summary);
        if (isFinal) {
            finish(call);
        }
    }

    /**
     * A new page: the snapshot is queued first, then every change. {@code close()} the subscription when the page
     * disconnects.
     */
    public synchronized Subscription subscribe() {
        Subscription subscription = new Subscription(snapshot(), limits.pageQueue());
        subscriptions.add(subscription);
        return subscription;
    }

    /** The messages that rebuild the current state on a new page: {@code reset} first, {@code ready} last. */
    public synchronized List<String> snapshot() {
        List<String> messages = new ArrayList<>();
        messages.add("{\"kind\":\"reset\"}");
        for (Call call : finished.values()) {
            snapshotOf(call, messages);
        }
        live.values().stream().sorted(Comparator.comparingLong(c -> c.seq)).forEach(call -> snapshotOf(call, messages));
        messages.add("{\"kind\":\"ready\"}");
        return messages;
    }

    /** Live calls, in order of their first record. */
    public synchronized List<String> liveCalls() {
        return live.values().stream()
                .sorted(Comparator.comparingLong(c -> c.seq))
                .map(c -> c.id)
                .toList();
    }

    /** Finished calls still kept, oldest first. */
    public synchronized List<String> finishedCalls() {
        return List.copyOf(finished.keySet());
    }

    /** Pages connected now. */
    public int pages() {
        return subscriptions.size();
    }

    /** Records handed to the state so far. */
    public synchronized long records() {
        return records;
    }

    private void snapshotOf(Call call, List<String> messages) {
        for (Map.Entry<String, Channel> entry : call.channels.entrySet()) {
            Channel channel = entry.getValue();
            if (!channel.history.isEmpty()) {
                messages.add(history(call.id, entry.getKey(), channel.history));
            }
            if (channel.trend != null) {
                messages.add(channel.trend);
            }
            if (channel.event != null) {
                messages.add(channel.event);
            }
            if (channel.sessionSummary != null) {
                messages.add(channel.sessionSummary);
            }
        }
        for (Alert alert : call.alerts) {
            messages.add(alert.message());
        }
        if (call.summary != null) {
            messages.add(call.summary);
        }
        if (call.finished) {
            messages.add(idMessage("finished", call.id));
        }
    }

    private Channel channel(String sessionId, String channel) {
        return channel(call(sessionId), channel);
    }

    private Channel channel(Call call, String name) {
        if (call == null) {
            return null;
        }
        Channel channel = call.channels.get(name);
        if (channel == null && call.channels.size() < limits.channelsPerCall()) {
            channel = new Channel();
            call.channels.put(name, channel);
        }
        return channel;
    }

    /** The call's state, made when it is new; null for a finished call already dropped from memory. */
    private Call call(String id) {
        Call call = live.get(id);
        if (call == null) {
            call = finished.get(id);
        }
        if (call != null) {
            return call;
        }
        if (forgotten.contains(id)) {
            return null;
        }
        call = new Call(id, nextCallSeq++);
        live.put(id, call);
        if (live.size() > limits.liveCalls()) {
            Iterator<Map.Entry<String, Call>> eldest = live.entrySet().iterator();
            String dropped = eldest.next().getKey();
            eldest.remove();
            publish(idMessage("removed", dropped));
        }
        return call;
    }

    private void finish(Call call) {
        if (call.finished) {
            return;
        }
        call.finished = true;
        live.remove(call.id);
        finished.put(call.id, call);
        publish(idMessage("finished", call.id));
        while (finished.size() > limits.finishedCalls()) {
            Iterator<String> oldest = finished.keySet().iterator();
            String dropped = oldest.next();
            oldest.remove();
            forgotten.add(dropped);
            if (forgotten.size() > FORGOTTEN_IDS) {
                forgotten.remove(forgotten.iterator().next());
            }
            publish(idMessage("removed", dropped));
        }
    }

    private void publish(String message) {
        for (Subscription s : subscriptions) {
            if (!s.offer(message)) {
                s.close();
            }
        }
    }

    private static String message(String kind, SpecificRecord record) {
        return "{\"kind\":\"" + kind + "\",\"value\":" + AvroJson.toJson(record) + "}";
    }

    private static String idMessage(String kind, String sessionId) {
        ObjectNode node = JSON.createObjectNode();
        node.put("kind", kind);
        node.put("sessionId", sessionId);
        return node.toString();
    }

    private static String history(String sessionId, String channel, Deque<Point> points) {
        ObjectNode node = JSON.createObjectNode();
        node.put("kind", "history");
        node.put("sessionId", sessionId);
        node.put("channel", channel);
        ArrayNode array = node.putArray("points");
        for (Point p : points) {
            array.addArray().add(p.timeMs()).add(p.negativity());
        }
        return node.toString();
    }

    /** One page's view of the changes: the snapshot first, then each change; ends when closed or too far behind. */
    public final class Subscription implements AutoCloseable {
        private final Deque<String> snapshot;
        private final LinkedBlockingQueue<String> changes;
        private volatile boolean closed;

        private Subscription(List<String> snapshot, int capacity) {
            this.snapshot = new ArrayDeque<>(snapshot);
            this.changes = new LinkedBlockingQueue<>(capacity);
        }

        private boolean offer(String message) {
            return !closed && changes.offer(message);
        }

        /** The next message, waiting up to {@code timeout}; null when none came or the subscription is closed. */
        public String poll(Duration timeout) throws InterruptedException {
            if (closed) {
                return null;
            }
            synchronized (snapshot) {
                if (!snapshot.isEmpty()) {
                    return snapshot.pollFirst();
                }
            }
            String message = changes.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return closed ? null : message;
        }

        /** False once closed: by the page's server, or because the page fell too far behind. */
        public boolean isOpen() {
            return !closed;
        }

        @Override
        public void close() {
            closed = true;
            subscriptions.remove(this);
            changes.clear();
            synchronized (snapshot) {
                snapshot.clear();
            }
        }
    }

    private record Point(long timeMs, float negativity) {}

    private record Alert(String key, String message) {}

    private static final class Channel {
        String event;
        String trend;
        String sessionSummary;
        long lastTrendTimeMs = Long.MIN_VALUE;
        final Deque<Point> history = new ArrayDeque<>();
    }

    private static final class Call {
        final String id;
        final long seq;
        final LinkedHashMap<String, Channel> channels = new LinkedHashMap<>();
        final Deque<Alert> alerts = new ArrayDeque<>();
        final Set<String> alertKeys = new HashSet<>();
        String summary;
        String summaryFinal;
        boolean finished;

        Call(String id, long seq) {
            this.id = id;
            this.seq = seq;
        }
    }
}
