package io.meritstream.cli.watch;

import static io.meritstream.cli.TestRecords.alert;
import static io.meritstream.cli.TestRecords.event;
import static io.meritstream.cli.TestRecords.sessionSummary;
import static io.meritstream.cli.TestRecords.summary;
import static io.meritstream.cli.TestRecords.trend;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.avro.AlertKind;
import io.meritstream.avro.CallSummaryKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SupervisorStateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aLatePageGetsTheCurrentStateOfEveryCallFirst() throws Exception {
        SupervisorState state = new SupervisorState();
        for (int w = 0; w < 5; w++) {
            state.onEvent(event("call-1", "customer", w, 0.1f * w));
            state.onTrend(trend("call-1", "customer", w, 0.1f * w));
            state.onEvent(event("call-1", "agent", w, 0.05f));
        }
        state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 7_000));
        state.onSummary(summary("call-1", CallSummaryKind.PROGRESS, 5_000));
        state.onSummary(summary("call-1", CallSummaryKind.PROGRESS, 10_000));

        List<JsonNode> snapshot = parse(state.snapshot());

        assertThat(snapshot)
                .extracting(m -> m.get("kind").asText())
                .containsExactly("reset", "history", "trend", "event", "event", "alert", "summary", "ready");
        JsonNode history = snapshot.get(1);
        assertThat(history.get("sessionId").asText()).isEqualTo("call-1");
        assertThat(history.get("channel").asText()).isEqualTo("customer");
        assertThat(history.get("points")).hasSize(5);
        assertThat(history.get("points").get(4).get(0).asLong()).isEqualTo(7_000);
        assertThat(history.get("points").get(4).get(1).asDouble())
                .isCloseTo(0.4, org.assertj.core.data.Offset.offset(1e-6));
        // The latest of each: window 4's trend and events, the second summary.
        assertThat(snapshot.get(2).get("value").get("windowIndex").asLong()).isEqualTo(4);
        assertThat(snapshot.get(3).get("value").get("channel").asText()).isEqualTo("customer");
        assertThat(snapshot.get(3).get("value").get("windowIndex").asLong()).isEqualTo(4);
        assertThat(snapshot.get(4).get("value").get("channel").asText()).isEqualTo("agent");
        assertThat(snapshot.get(6).get("value").get("durationMs").asLong()).isEqualTo(10_000);
        assertThat(snapshot.get(6)
                        .get("value")
                        .get("channels")
                        .get(1)
                        .get("talkShare")
                        .asDouble())
                .isEqualTo(0.5);
        assertThat(state.liveCalls()).containsExactly("call-1");
        assertThat(state.finishedCalls()).isEmpty();
    }

    @Test
    void aSubscriberSeesTheSnapshotThenEveryChangeOnceInOrder() throws Exception {
        SupervisorState state = new SupervisorState();
        state.onEvent(event("call-1", "customer", 0, 0.1f));
        try (SupervisorState.Subscription page = state.subscribe()) {
            state.onEvent(event("call-1", "customer", 1, 0.2f));
            state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 7_000));
            state.onEvent(event("call-2", "agent", 0, 0.2f));

            List<JsonNode> seen = parse(drain(page));
            assertThat(seen)
                    .extracting(m -> m.get("kind").asText())
                    .containsExactly("reset", "event", "ready", "event", "alert", "event");
            assertThat(seen.get(1).get("value").get("windowIndex").asLong()).isZero();
            assertThat(seen.get(3).get("value").get("windowIndex").asLong()).isEqualTo(1);
            assertThat(seen.get(5).get("value").get("sessionId").asText()).isEqualTo("call-2");
            assertThat(state.pages()).isEqualTo(1);
        }
        assertThat(state.pages()).as("a closed page is dropped").isZero();
    }

    @Test
    void everyPageGetsEveryChange() throws Exception {
        SupervisorState state = new SupervisorState();
        try (SupervisorState.Subscription a = state.subscribe();
                SupervisorState.Subscription b = state.subscribe()) {
            state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 7_000));
            assertThat(drain(a)).hasSize(3).last().asString().contains("NEGATIVE_SPIKE_START");
            assertThat(drain(b)).hasSize(3).last().asString().contains("NEGATIVE_SPIKE_START");
        }
    }

    @Test
    void aPageThatFallsTooFarBehindIsDisconnectedAndOthersGoOn() throws Exception {
        SupervisorState state = new SupervisorState(new SupervisorState.Limits(10, 5, 4, 10, 10, 3));
        SupervisorState.Subscription slow = state.subscribe();
        for (int w = 0; w < 4; w++) {
            state.onEvent(event("call-1", "customer", w, 0.1f));
        }
        assertThat(slow.isOpen()).isFalse();
        assertThat(slow.poll(Duration.ZERO)).isNull();
        assertThat(state.pages()).isZero();
        try (SupervisorState.Subscription fresh = state.subscribe()) {
            state.onEvent(event("call-1", "customer", 4, 0.1f));
            assertThat(parse(drain(fresh)))
                    .extracting(m -> m.get("kind").asText())
                    .containsExactly("reset", "event", "ready", "event");
        }
    }

    @Test
    void theNegativityHistoryIsCappedAndRepeatedTrendsAreNotAddedTwice() throws Exception {
        SupervisorState state = new SupervisorState(new SupervisorState.Limits(10, 5, 4, 4, 10, 100));
        for (int w = 0; w < 10; w++) {
            state.onTrend(trend("call-1", "customer", w, 0.05f * w));
        }
        // At-least-once: windows 8 and 9 again after a restart.
        state.onTrend(trend("call-1", "customer", 8, 0.4f));
        state.onTrend(trend("call-1", "customer", 9, 0.45f));
        JsonNode history = parse(state.snapshot()).get(1);
        assertThat(history.get("points")).hasSize(4);
        List<Long> times = new ArrayList<>();
        history.get("points").forEach(p -> times.add(p.get(0).asLong()));
        assertThat(times).containsExactly(9_000L, 10_000L, 11_000L, 12_000L);
    }

    @Test
    void alertsAreKeptOnceEachAndCapped() throws Exception {
        SupervisorState state = new SupervisorState(new SupervisorState.Limits(10, 5, 4, 10, 3, 100));
        state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 7_000));
        state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 7_000));
        state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_END, 12_000));
        assertThat(alerts(state)).containsExactly(7_000L, 12_000L);
        state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 20_000));
        state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_END, 25_000));
        assertThat(alerts(state)).containsExactly(12_000L, 20_000L, 25_000L);
    }

    @Test
    void theFinalSummaryFinishesACallAndLaterProgressDoesNotReplaceIt() throws Exception {
        SupervisorState state = new SupervisorState();
        state.onEvent(event("call-1", "customer", 0, 0.1f));
        try (SupervisorState.Subscription page = state.subscribe()) {
            state.onSummary(summary("call-1", CallSummaryKind.FINAL, 40_000));
            state.onSummary(summary("call-1", CallSummaryKind.PROGRESS, 35_000));
            // A late event of a finished call updates it where it is.
            state.onEvent(event("call-1", "customer", 37, 0.1f));
            List<JsonNode> seen = parse(drain(page));
            assertThat(seen)
                    .extracting(m -> m.get("kind").asText())
                    .containsExactly("reset", "event", "ready", "summary", "finished", "event");
            assertThat(seen.get(4).get("sessionId").asText()).isEqualTo("call-1");
        }
        assertThat(state.liveCalls()).isEmpty();
        assertThat(state.finishedCalls()).containsExactly("call-1");
        List<JsonNode> snapshot = parse(state.snapshot());
        assertThat(snapshot)
                .extracting(m -> m.get("kind").asText())
                .containsExactly("reset", "event", "summary", "finished", "ready");
        assertThat(snapshot.get(2).get("value").get("kind").asText()).isEqualTo("FINAL");
    }

    @Test
    void withoutCallSummariesACallFinishesWhenEveryChannelHasItsSessionSummary() throws Exception {
        SupervisorState state = new SupervisorState();
        state.onEvent(event("call-1", "agent", 0, 0.1f));
        state.onEvent(event("call-1", "customer", 0, 0.1f));
        state.onTrend(sessionSummary("call-1", "agent", 38));
        assertThat(state.liveCalls()).containsExactly("call-1");
        state.onTrend(sessionSummary("call-1", "customer", 38));
        assertThat(state.liveCalls()).isEmpty();
        assertThat(state.finishedCalls()).containsExactly("call-1");
        // The FINAL summary may still come: it updates the finished call.
        state.onSummary(summary("call-1", CallSummaryKind.FINAL, 40_000));
        assertThat(parse(state.snapshot()))
                .extracting(m -> m.get("kind").asText())
                .containsExactly("reset", "event", "trend", "event", "trend", "summary", "finished", "ready");
    }

    @Test
    void finishedCallsAreCappedOldestFirstAndTheirLateRecordsIgnored() throws Exception {
        SupervisorState state = new SupervisorState(new SupervisorState.Limits(10, 3, 4, 10, 10, 1_000));
        try (SupervisorState.Subscription page = state.subscribe()) {
            for (int i = 1; i <= 5; i++) {
                state.onEvent(event("call-" + i, "customer", 0, 0.1f));
                state.onSummary(summary("call-" + i, CallSummaryKind.FINAL, 40_000));
            }
            assertThat(state.finishedCalls()).containsExactly("call-3", "call-4", "call-5");
            List<JsonNode> removed = parse(drain(page)).stream()
                    .filter(m -> m.get("kind").asText().equals("removed"))
                    .toList();
            assertThat(removed).extracting(m -> m.get("sessionId").asText()).containsExactly("call-1", "call-2");
        }
        state.onEvent(event("call-1", "customer", 39, 0.1f));
        assertThat(state.liveCalls())
                .as("a dropped finished call does not come back")
                .isEmpty();
    }

    @Test
    void liveCallsAreCappedLeastRecentlyUpdatedFirst() throws Exception {
        SupervisorState state = new SupervisorState(new SupervisorState.Limits(2, 3, 4, 10, 10, 1_000));
        state.onEvent(event("call-1", "customer", 0, 0.1f));
        state.onEvent(event("call-2", "customer", 0, 0.1f));
        state.onEvent(event("call-1", "customer", 1, 0.1f));
        state.onEvent(event("call-3", "customer", 0, 0.1f));
        assertThat(state.liveCalls()).containsExactly("call-1", "call-3");
    }

    @Test
    void channelsPerCallAreCapped() throws Exception {
        SupervisorState state = new SupervisorState(new SupervisorState.Limits(10, 3, 2, 10, 10, 1_000));
        for (String channel : List.of("agent", "customer", "third", "fourth")) {
            state.onEvent(event("call-1", channel, 0, 0.1f));
        }
        assertThat(parse(state.snapshot()).stream()
                        .filter(m -> m.get("kind").asText().equals("event"))
                        .map(m -> m.get("value").get("channel").asText()))
                .containsExactly("agent", "customer");
    }

    @Test
    void messagesAreTheRecordsInAvrosJsonTaggedWithTheirKind() throws Exception {
        SupervisorState state = new SupervisorState();
        state.onTrend(sessionSummary("call-1", "agent", 38));
        JsonNode trend = parse(state.snapshot()).stream()
                .filter(m -> m.get("kind").asText().equals("trend"))
                .findFirst()
                .orElseThrow();
        // A union in Avro's JSON encoding: {"full.Name": value}; the page unwraps it.
        assertThat(trend.get("value")
                        .get("summary")
                        .get("io.meritstream.avro.SessionSummary")
                        .get("dominant")
                        .asText())
                .isEqualTo("NEUTRAL");
    }

    private static List<Long> alerts(SupervisorState state) throws Exception {
        return parse(state.snapshot()).stream()
                .filter(m -> m.get("kind").asText().equals("alert"))
                .map(m -> m.get("value").get("timeMs").asLong())
                .toList();
    }

    private static List<String> drain(SupervisorState.Subscription page) throws InterruptedException {
        List<String> messages = new ArrayList<>();
        String m;
        while ((m = page.poll(Duration.ZERO)) != null) {
            messages.add(m);
        }
        return messages;
    }

    private static List<JsonNode> parse(List<String> messages) throws Exception {
        List<JsonNode> nodes = new ArrayList<>();
        for (String m : messages) {
            nodes.add(JSON.readTree(m));
        }
        return nodes;
    }
}
