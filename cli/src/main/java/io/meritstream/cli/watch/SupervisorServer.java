package io.meritstream.cli.watch;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The supervisor page over HTTP, on the JDK's own server: the static page ({@code /}, {@code /supervisor.js}, {@code
 * /supervisor.css}, from the classpath folder {@code supervisor/}), {@code /events} (server-sent events: the {@link
 * SupervisorState} snapshot, then every change, one JSON message per event) and {@code /snapshot.json} (the snapshot as
 * one JSON array, for scripts). At most {@link #MAX_PAGES} pages stream at once; a page that disconnects is dropped at
 * its next message or keep-alive. No authentication: it binds to loopback unless told otherwise.
 */
public final class SupervisorServer implements AutoCloseable {
    /** Pages streaming {@code /events} at once; one more gets 503. */
    public static final int MAX_PAGES = 32;

    /** A comment line this often keeps proxies from closing a quiet stream and finds pages that went away. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

    private static final Logger LOG = LoggerFactory.getLogger(SupervisorServer.class);

    private static final Map<String, Resource> RESOURCES = Map.of(
            "/", new Resource("index.html", "text/html; charset=utf-8"),
            "/index.html", new Resource("index.html", "text/html; charset=utf-8"),
            "/supervisor.js", new Resource("supervisor.js", "text/javascript; charset=utf-8"),
            "/supervisor.css", new Resource("supervisor.css", "text/css; charset=utf-8"));

    private final HttpServer server;
    private final ExecutorService threads;
    private final SupervisorState state;
    private final AtomicInteger streaming = new AtomicInteger();
    private final Map<String, byte[]> content;
    private volatile boolean closed;

    private SupervisorServer(HttpServer server, ExecutorService threads, SupervisorState state) {
        this.server = server;
        this.threads = threads;
        this.state = state;
        this.content = Map.of(
                "index.html", load("index.html"),
                "supervisor.js", load("supervisor.js"),
                "supervisor.css", load("supervisor.css"));
    }

    /**
     * Binds {@code host:port} (port 0: any free port) and starts serving.
     *
     * @throws java.net.BindException when the port is taken (or the host is not an address of this machine)
     */
    public static SupervisorServer start(String host, int port, SupervisorState state) throws IOException {
        Objects.requireNonNull(state, "state");
        HttpServer http = HttpServer.create(new InetSocketAddress(host, port), 0);
        AtomicInteger n = new AtomicInteger();
        ExecutorService threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "merit-page-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(threads);
        SupervisorServer server = new SupervisorServer(http, threads, state);
        http.createContext("/", server::serveStatic);
        http.createContext("/events", server::serveEvents);
        http.createContext("/snapshot.json", server::serveSnapshot);
        http.start();
        return server;
    }

    /** Where the page is, e.g. {@code http://127.0.0.1:8088/}. */
    public URI url() {
        InetSocketAddress address = server.getAddress();
        String host = address.getAddress().isAnyLocalAddress()
                ? "127.0.0.1"
                : address.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + address.getPort() + "/");
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Pages streaming now. */
    public int pages() {
        return streaming.get();
    }

    public SupervisorState state() {
        return state;
    }

    private void serveStatic(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!accept(exchange, null)) {
                return;
            }
            Resource resource = RESOURCES.get(exchange.getRequestURI().getPath());
            if (resource == null) {
                send(exchange, 404, "text/plain; charset=utf-8", "not found\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            send(exchange, 200, resource.type(), content.get(resource.name()));
        }
    }

    private void serveSnapshot(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!accept(exchange, "/snapshot.json")) {
                return;
            }
            List<String> messages = state.snapshot();
            String body = "[" + String.join(",\n", messages) + "]\n";
            send(exchange, 200, "application/json; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
        }
    }

    private void serveEvents(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!accept(exchange, "/events")) {
                return;
            }
            if (exchange.getRequestMethod().equals("HEAD")) {
                send(exchange, 200, "text/event-stream; charset=utf-8", new byte[0]);
                return;
            }
            if (streaming.incrementAndGet() > MAX_PAGES || closed) {
                streaming.decrementAndGet();
                exchange.getResponseHeaders().set("Retry-After", "10");
                send(exchange, 503, "text/plain; charset=utf-8", "too many pages\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            try (SupervisorState.Subscription subscription = state.subscribe()) {
                exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
                exchange.getResponseHeaders().set("Cache-Control", "no-store");
                exchange.sendResponseHeaders(200, 0);
                OutputStream out = exchange.getResponseBody();
                // Reconnect soon after the stream breaks; a new connection starts from a snapshot.
                out.write("retry: 2000\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                long lastWrite = System.nanoTime();
                while (!closed && subscription.isOpen()) {
                    String message = subscription.poll(Duration.ofMillis(500));
                    if (message == null) {
                        if (System.nanoTime() - lastWrite > KEEP_ALIVE.toNanos()) {
                            out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                            out.flush();
                            lastWrite = System.nanoTime();
                        }
                        continue;
                    }
                    // Everything waiting goes out in one write.
                    StringBuilder batch = new StringBuilder();
                    int n = 0;
                    while (message != null) {
                        batch.append("data: ").append(message).append("\n\n");
                        if (++n >= 500) {
                            break;
                        }
                        message = subscription.poll(Duration.ZERO);
                    }
                    out.write(batch.toString().getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    lastWrite = System.nanoTime();
                }
            } catch (IOException e) {
                // The page went away.
                LOG.debug("page {} disconnected: {}", exchange.getRemoteAddress(), e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                streaming.decrementAndGet();
            }
        }
    }

    /**
     * GET or HEAD of {@code path} (null: any), with a Host header naming this machine when the server listens on
     * loopback only: a page of another site that re-points its own name at 127.0.0.1 (DNS rebinding) gets 403.
     */
    private boolean accept(HttpExchange exchange, String path) throws IOException {
        if (path != null && !exchange.getRequestURI().getPath().equals(path)) {
            send(exchange, 404, "text/plain; charset=utf-8", "not found\n".getBytes(StandardCharsets.UTF_8));
            return false;
        }
        if (server.getAddress().getAddress().isLoopbackAddress() && !loopbackHost(exchange)) {
            send(exchange, 403, "text/plain; charset=utf-8", "forbidden\n".getBytes(StandardCharsets.UTF_8));
            return false;
        }
        return isGetOrHead(exchange);
    }

    private static boolean loopbackHost(HttpExchange exchange) {
        String host = exchange.getRequestHeaders().getFirst("Host");
        if (host == null) {
            return true;
        }
        String name = host.startsWith("[")
                ? host.substring(0, host.indexOf(']') + 1)
                : host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
        return name.equals("localhost") || name.equals("[::1]") || name.startsWith("127.");
    }

    private static boolean isGetOrHead(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        if (method.equals("GET") || method.equals("HEAD")) {
            return true;
        }
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        send(exchange, 405, "text/plain; charset=utf-8", "GET only\n".getBytes(StandardCharsets.UTF_8));
        return false;
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static byte[] load(String name) {
        try (InputStream in = SupervisorServer.class.getResourceAsStream("/supervisor/" + name)) {
            if (in == null) {
                throw new IllegalStateException("the page's file supervisor/" + name + " is not on the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops serving: open streams end, the port is released. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // The streams notice within one poll (0.5 s); give them that before the server stops.
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (streaming.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        server.stop(0);
        threads.shutdownNow();
    }

    private record Resource(String name, String type) {}
}
