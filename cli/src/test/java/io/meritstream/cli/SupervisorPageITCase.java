package io.meritstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.cli.job.MiniClusterJobLauncher;
import io.meritstream.cli.job.RunningJob;
import io.meritstream.cli.kafka.OutputTopics;
import io.meritstream.cli.watch.SupervisorFeed;
import io.meritstream.cli.watch.SupervisorServer;
import io.meritstream.cli.watch.SupervisorState;
import io.meritstream.job.KafkaOptions;
import io.meritstream.job.MeritStreamJob;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The supervisor page in a real browser (Debian's headless Chromium, driven by its chromedriver) during a demo-like
 * run: an embedded Kafka, the real job with the shipped model on a MiniCluster, the three shipped calls replayed at
 * twice real time through {@code merit replay}, and the page served from the same {@link SupervisorState}, {@link
 * SupervisorFeed} and {@link SupervisorServer} that {@code demo} and {@code watch} use. The page is opened before the
 * calls start, so everything reaches it live; it must show call-01 with both channels while it runs, the customer's
 * alert as it fires, and the call's summary when it ends; a page opened afterwards must show the same from the
 * server's snapshot.
 */
class SupervisorPageITCase {
    private static final Path CALLS = Path.of("../data/calls");
    private static final Path SCREENSHOT = Path.of("target/supervisor-page.png");
    private static final Path SCREENSHOT_END = Path.of("target/supervisor-page-finished.png");
    private static final List<String> CALL_IDS = List.of("call-01", "call-02", "call-03");

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aSupervisorSeesTheCallItsEmotionsAndItsAlertAsTheyHappen(@TempDir Path dir) throws Exception {
        Path calls = Files.createDirectories(dir.resolve("calls"));
        for (String call : CALL_IDS) {
            for (String file : List.of(call + ".agent.wav", call + ".customer.wav", call + ".json")) {
                Files.copy(CALLS.resolve(file), calls.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        OutputTopics topics = OutputTopics.DEFAULTS;
        SupervisorState state = new SupervisorState();
        try (EmbeddedKafkaBroker kafka =
                        EmbeddedKafkaBroker.builder().defaultPartitions(2).start();
                SupervisorServer page = SupervisorServer.start("127.0.0.1", 0, state)) {
            kafka.createTopics("audio-frames");
            kafka.createTopics(topics.all().toArray(String[]::new));
            try (RunningJob job = startJob(kafka, topics, dir);
                    SupervisorFeed feed = SupervisorFeed.start(
                            kafka.clientProperties(), topics, SupervisorFeed.From.everything(), state)) {
                WebDriver browser = browser(dir);
                try {
                    browser.get(page.url().toString());
                    WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(90), Duration.ofMillis(200));
                    wait.ignoring(StaleElementReferenceException.class);
                    wait.until(ExpectedConditions.attributeToBe(By.id("status"), "data-state", "connected"));
                    assertThat(browser.findElement(By.id("live-empty")).isDisplayed())
                            .isTrue();

                    AtomicInteger replayed = new AtomicInteger(-1);
                    Thread replay = new Thread(() -> replayed.set(MeritCli.execute(
                            "replay", calls.toString(), "-b", kafka.bootstrapServers(), "--speed", "2")));
                    replay.start();

                    // While the call runs: a live card with both channels, each with its current emotion.
                    wait.until(b -> ((Number) js(
                                            b,
                                            "return [...document.querySelectorAll(\"#live-calls"
                                                    + " [data-call='call-01'] tr.channel td.emotion\")]"
                                                    + ".filter(e => e.dataset.label !== '–').length"))
                                    .intValue()
                            == 2);
                    assertThat(js(
                                    browser,
                                    "return [...document.querySelectorAll(\"#live-calls [data-call='call-01']"
                                            + " tr.channel\")].map(e => e.dataset.channel).sort()"))
                            .isEqualTo(List.of("agent", "customer"));

                    // The customer's anger raises an alert, shown as it fires.
                    String alert =
                            "[data-call='call-01'] .alert[data-kind='NEGATIVE_SPIKE_START'][data-channel='customer']";
                    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(alert)));
                    // Read in one script: the page redraws a live card on every update.
                    @SuppressWarnings("unchecked")
                    Map<String, Object> raised = (Map<String, Object>) js(
                            browser,
                            "const a = document.querySelector(arguments[0]);"
                                    + " const card = a.closest('.call');"
                                    + " const spark = card.querySelector(\"tr[data-channel='customer'] svg.sparkline\");"
                                    + " return {text: a.textContent, classes: a.className,"
                                    + " live: card.classList.contains('live'),"
                                    + " alerting: card.classList.contains('alerting'),"
                                    + " points: spark ? Number(spark.dataset.points) : -1};",
                            alert);
                    assertThat((String) raised.get("text")).contains("customer", "negative spike at 0:");
                    if (Boolean.TRUE.equals(raised.get("live"))) {
                        assertThat((String) raised.get("classes")).contains("fresh");
                        // The negativity sparkline has drawn the trend so far.
                        assertThat(((Number) raised.get("points")).intValue()).isGreaterThan(5);
                    }
                    screenshot(browser, SCREENSHOT);

                    // The calls end: their summaries replace the live cards.
                    By finished = By.cssSelector("#finished-calls .call.finished[data-call='call-01']");
                    wait.until(ExpectedConditions.presenceOfElementLocated(finished));
                    wait.until(ExpectedConditions.textToBe(By.id("finished-count"), "3"));
                    replay.join(60_000);
                    assertThat(replayed.get()).as("merit replay's exit code").isZero();
                    assertThat(browser.findElements(By.cssSelector("#live-calls .call")))
                            .isEmpty();
                    eventually(browser, () -> checkFinished(browser, state));
                    screenshot(browser, SCREENSHOT_END);

                    // A page opened now rebuilds the same from the server's snapshot.
                    browser.navigate().refresh();
                    wait.until(ExpectedConditions.attributeToBe(By.id("status"), "data-state", "connected"));
                    wait.until(ExpectedConditions.presenceOfElementLocated(finished));
                    eventually(browser, () -> checkFinished(browser, state));
                    assertThat(browser.findElements(By.cssSelector(alert))).hasSize(1);
                    assertThat(browser.findElement(By.id("finished-count")).getText())
                            .isEqualTo("3");
                    assertThat(js(
                                    browser,
                                    "return [...document.querySelectorAll('#finished-calls .call')]"
                                            + ".map(e => e.dataset.call).sort()"))
                            .isEqualTo(CALL_IDS);
                    assertThat(browser.findElement(By.id("live-count")).getText())
                            .isEqualTo("0");
                } finally {
                    browser.quit();
                }
                assertThat(feed.failure()).isNull();
                assertThat(feed.undecodable()).isZero();
            }
        }
    }

    /**
     * Runs the checks until they pass (30 s at most): a finished card is drawn again when a later record of the call
     * arrives (its FINAL call summary comes after the channels' session summaries), which makes elements found before
     * stale and the page a moment behind the server's state.
     */
    private static void eventually(WebDriver browser, Runnable checks) {
        new WebDriverWait(browser, Duration.ofSeconds(30), Duration.ofMillis(200))
                .ignoring(StaleElementReferenceException.class)
                .ignoring(AssertionError.class)
                .until(d -> {
                    checks.run();
                    return true;
                });
    }

    /** The finished card: the channels' dominant emotions and peaks, and the conversation metrics when the job sent them. */
    private static void checkFinished(WebDriver browser, SupervisorState state) {
        WebElement card = browser.findElement(By.cssSelector("#finished-calls [data-call='call-01']"));
        assertThat(card.findElements(By.cssSelector("table.summary tr.channel")))
                .extracting(e -> e.getAttribute("data-channel"))
                .containsExactlyInAnyOrder("agent", "customer");
        WebElement customer = card.findElement(By.cssSelector("table.summary tr.channel[data-channel='customer']"));
        assertThat(customer.findElement(By.cssSelector("td.peak")).getText()).matches("0\\.\\d\\d at \\d+:\\d\\d");
        assertThat(customer.findElement(By.cssSelector("td.alert-times")).getText())
                .matches("\\d+:\\d\\d \\(0\\.\\d\\d\\).*");
        boolean finalSummary = state.snapshot().stream()
                .anyMatch(m -> m.startsWith("{\"kind\":\"summary\"") && m.contains("\"kind\":\"FINAL\""));
        if (finalSummary) {
            // The job wrote call summaries: talk shares, silence, overtalk and the rest of the conversation.
            assertThat(card.getAttribute("data-summary")).isEqualTo("final");
            assertThat(card.findElements(By.cssSelector(".talk .talk-row.channel-talk")))
                    .extracting(e -> e.getAttribute("data-channel"))
                    .containsExactlyInAnyOrder("agent", "customer");
            assertThat(card.findElements(By.cssSelector(".talk .talk-row.silence")))
                    .hasSize(1);
            assertThat(card.findElements(By.cssSelector(".talk .talk-row.overtalk")))
                    .hasSize(1);
            assertThat(card.findElement(By.cssSelector(".metric.monologue dd")).getText())
                    .matches("\\d+\\.\\d s");
            assertThat(customer.findElement(By.cssSelector("td.talk-share")).getText())
                    .matches("\\d+%");
            assertThat(customer.findElement(By.cssSelector("td.level")).getText())
                    .endsWith("dBFS");
        } else {
            assertThat(card.getAttribute("data-summary")).isEqualTo("channels");
        }
    }

    private static RunningJob startJob(EmbeddedKafkaBroker kafka, OutputTopics topics, Path dir) throws Exception {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put(KafkaOptions.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
        conf.put(KafkaOptions.INPUT_TOPIC.key(), "audio-frames");
        conf.put(KafkaOptions.DLQ_TOPIC.key(), topics.deadLetters());
        conf.put(KafkaOptions.ENHANCED_AUDIO_TOPIC.key(), topics.enhancedAudio());
        conf.put(KafkaOptions.EMOTION_EVENTS_TOPIC.key(), topics.events());
        conf.put(KafkaOptions.EMOTION_TRENDS_TOPIC.key(), topics.trends());
        conf.put(KafkaOptions.EMOTION_ALERTS_TOPIC.key(), topics.alerts());
        conf.put(OutputTopics.CALL_SUMMARIES_OPTION, topics.summaries());
        conf.put(KafkaOptions.GROUP_ID.key(), "supervisor-page-it");
        conf.put(KafkaOptions.STARTING_OFFSETS.key(), "earliest");
        conf.put("parallelism.default", "2");
        conf.put("execution.checkpointing.interval", "1s");
        conf.put("execution.checkpointing.storage", "filesystem");
        conf.put(
                "execution.checkpointing.dir",
                Files.createDirectories(dir.resolve("checkpoints")).toUri().toString());
        return new MiniClusterJobLauncher(MeritStreamJob::buildFromConfiguration).start(Configuration.fromMap(conf));
    }

    /** Debian's Chromium through Debian's chromedriver, named explicitly so that Selenium Manager downloads nothing. */
    private static WebDriver browser(Path dir) {
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File("/usr/bin/chromedriver"))
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary("/usr/bin/chromium");
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,1000",
                "--user-data-dir=" + dir.resolve("chromium").toAbsolutePath());
        return new ChromeDriver(service, options);
    }

    private static Object js(WebDriver browser, String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    private static void screenshot(WebDriver browser, Path file) throws Exception {
        byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, png);
    }
}
