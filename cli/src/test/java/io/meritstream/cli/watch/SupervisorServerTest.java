package io.meritstream.cli.watch;

import static io.meritstream.cli.TestRecords.alert;
import static io.meritstream.cli.TestRecords.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.meritstream.avro.AlertKind;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.BindException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SupervisorServerTest {
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void servesThePageItsScriptAndStyleAndNothingElse() throws Exception {
        try (SupervisorServer server = SupervisorServer.start("127.0.0.1", 0, new SupervisorState())) {
            assertThat(server.url().toString()).isEqualTo("http://127.0.0.1:" + server.port() + "/");
            HttpResponse<String> page = get(server.url());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
            assertThat(page.body()).contains("id=\"live-calls\"", "id=\"finished-calls\"", "supervisor.js");
            HttpResponse<String> script = get(server.url().resolve("supervisor.js"));
            assertThat(script.statusCode()).isEqualTo(200);
            assertThat(script.body()).contains("new EventSource(\"events\")");
            assertThat(get(server.url().resolve("supervisor.css")).statusCode()).isEqualTo(200);
            assertThat(get(server.url().resolve("../../etc/passwd")).statusCode())
                    .isEqualTo(404);
            assertThat(get(server.url().resolve("nothing.html")).statusCode()).isEqualTo(404);
            HttpResponse<String> post = http.send(
                    HttpRequest.newBuilder(server.url())
                            .POST(HttpRequest.BodyPublishers.ofString("x"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
            assertThat(get(server.url().resolve("events/more")).statusCode()).isEqualTo(404);
        }
    }

    @Test
    void onLoopbackItAnswersOnlyRequestsForThisMachinesNames() throws Exception {
        try (SupervisorServer server = SupervisorServer.start("127.0.0.1", 0, new SupervisorState())) {
            assertThat(get(URI.create("http://localhost:" + server.port() + "/"))
                            .statusCode())
                    .isEqualTo(200);
            // A raw request with another site's name, as a page after DNS rebinding sends it.
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
                socket.getOutputStream()
                        .write(("GET /snapshot.json HTTP/1.1\r\nHost: evil.example:" + server.port()
                                        + "\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                String status = new BufferedReader(
                                new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                        .readLine();
                assertThat(status).isEqualTo("HTTP/1.1 403 Forbidden");
            }
        }
    }

    @Test
    void eventsStreamsTheSnapshotThenChangesAndADisconnectedPageIsDropped() throws Exception {
        SupervisorState state = new SupervisorState();
        state.onEvent(event("call-1", "customer", 0, 0.1f));
        try (SupervisorServer server = SupervisorServer.start("127.0.0.1", 0, state)) {
            HttpResponse<InputStream> response = http.send(
                    HttpRequest.newBuilder(server.url().resolve("events")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.headers().firstValue("Content-Type")).hasValue("text/event-stream; charset=utf-8");
            try (BufferedReader in =
                    new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                List<String> data = new ArrayList<>();
                data.addAll(readData(in, 3));
                assertThat(data.get(0)).isEqualTo("{\"kind\":\"reset\"}");
                assertThat(data.get(1)).startsWith("{\"kind\":\"event\",\"value\":{\"sessionId\":\"call-1\"");
                assertThat(data.get(2)).isEqualTo("{\"kind\":\"ready\"}");
                assertThat(server.pages()).isEqualTo(1);

                state.onAlert(alert("call-1", "customer", AlertKind.NEGATIVE_SPIKE_START, 7_000));
                assertThat(readData(in, 1).get(0))
                        .startsWith("{\"kind\":\"alert\"")
                        .contains("NEGATIVE_SPIKE_START");
            }
            // The page went away: the next write fails and the stream is dropped.
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            int w = 1;
            while ((server.pages() > 0 || state.pages() > 0) && System.nanoTime() < deadline) {
                state.onEvent(event("call-1", "customer", w++, 0.1f));
                Thread.sleep(100);
            }
            assertThat(server.pages()).isZero();
            assertThat(state.pages()).isZero();

            HttpResponse<String> snapshot = get(server.url().resolve("snapshot.json"));
            assertThat(snapshot.statusCode()).isEqualTo(200);
            assertThat(snapshot.body()).startsWith("[{\"kind\":\"reset\"}").contains("NEGATIVE_SPIKE_START");
        }
    }

    @Test
    void aTakenPortIsABindException() throws Exception {
        try (SupervisorServer first = SupervisorServer.start("127.0.0.1", 0, new SupervisorState())) {
            assertThatThrownBy(() -> SupervisorServer.start("127.0.0.1", first.port(), new SupervisorState()))
                    .isInstanceOf(BindException.class);
        }
    }

    @Test
    void closingEndsOpenStreamsAndReleasesThePort() throws Exception {
        SupervisorState state = new SupervisorState();
        SupervisorServer server = SupervisorServer.start("127.0.0.1", 0, state);
        int port = server.port();
        HttpResponse<InputStream> response = http.send(
                HttpRequest.newBuilder(server.url().resolve("events")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            readData(in, 2);
            server.close();
            // The stream ends (or breaks) rather than hanging.
            try {
                while (in.readLine() != null) {
                    // Drain.
                }
            } catch (java.io.IOException e) {
                // Broken off: also an end.
            }
        }
        assertThat(state.pages()).isZero();
        try (SupervisorServer again = SupervisorServer.start("127.0.0.1", port, state)) {
            assertThat(again.port()).isEqualTo(port);
        }
    }

    private HttpResponse<String> get(URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The next {@code n} data lines of an event stream. */
    private static List<String> readData(BufferedReader in, int n) throws Exception {
        List<String> data = new ArrayList<>();
        String line;
        while (data.size() < n && (line = in.readLine()) != null) {
            if (line.startsWith("data: ")) {
                data.add(line.substring("data: ".length()));
            }
        }
        return data;
    }
}
