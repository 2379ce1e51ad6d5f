package io.meritstream.cli.report;

import static io.meritstream.cli.TestRecords.probs;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.avro.AlertEvidence;
import io.meritstream.avro.AlertKind;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionProbabilities;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.SessionSummary;
import io.meritstream.avro.TrendKind;
import io.meritstream.cli.TestRecords;
import io.meritstream.cli.audio.WavAudio;
import io.meritstream.cli.kafka.AvroJson;
import io.meritstream.cli.kafka.EnhancedAudioAssembler;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportGeneratorTest {
    private static final int RATE = 16_000;
    private static final double SECONDS = 12;

    @TempDir
    Path dir;

    @Test
    void writesTrendAndSpectrogramPngsAndAnHtmlPageThatNamesWhatWasDetected() throws IOException {
        Path calls = Files.createDirectories(dir.resolve("calls"));
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(
                calls.resolve("call-x.json"),
                """
                {"id": "call-x", "title": "synthetic", "duration_s": 12.0,
                 "channels": {"agent": {"file": "call-x.agent.wav"}, "customer": {"file": "call-x.customer.wav"}},
                 "spans": [
                  {"channel": "agent", "start_s": 0.5, "end_s": 11.0, "emotion": "neutral"},
                  {"channel": "customer", "start_s": 1.0, "end_s": 4.0, "emotion": "neutral"},
                  {"channel": "customer", "start_s": 4.0, "end_s": 9.0, "emotion": "angry"},
                  {"channel": "agent", "start_s": 11.0, "end_s": 12.0, "emotion": "sad"}
                 ]}
                """,
                StandardCharsets.UTF_8);
        for (String channel : List.of("agent", "customer")) {
            WavAudio.writePcm16(calls.resolve("call-x." + channel + ".wav"), tone(440, 0.3f), RATE);
            WavAudio.writePcm16(
                    out.resolve(EnhancedAudioAssembler.fileName("call-x", channel)), tone(440, 0.02f), RATE);
        }
        List<EmotionTrend> trends = new ArrayList<>();
        List<EmotionEvent> events = new ArrayList<>();
        for (String channel : List.of("agent", "customer")) {
            for (int w = 0; w < 10; w++) {
                float angry = channel.equals("customer") && w >= 4 && w <= 8 ? 0.8f : 0.05f;
                EmotionProbabilities p = probs(angry);
                trends.add(trend(channel, w, p, TrendKind.UPDATE));
                events.add(event(channel, w, p));
            }
            trends.add(trend(channel, 10, probs(0.1f), TrendKind.SESSION_SUMMARY));
        }
        // The customer's alert falls inside the angry span; the agent's sad second gets none, and the agent's alert
        // at 3 s, in its neutral span, is a false one.
        List<EmotionAlert> alerts = List.of(
                alert("agent", AlertKind.NEGATIVE_SPIKE_START, 3_000),
                alert("customer", AlertKind.NEGATIVE_SPIKE_START, 7_000),
                alert("customer", AlertKind.NEGATIVE_SPIKE_END, 11_000));
        writeJsonl(out.resolve("events.jsonl"), events);
        writeJsonl(out.resolve("trends.jsonl"), trends);
        writeJsonl(out.resolve("alerts.jsonl"), alerts);

        ReportGenerator.Result result = new ReportGenerator(new ReportGenerator.Inputs(
                        out.resolve("events.jsonl"),
                        out.resolve("trends.jsonl"),
                        out.resolve("alerts.jsonl"),
                        calls,
                        out))
                .write(out);

        assertThat(result.images())
                .extracting(p -> p.getFileName().toString())
                .containsExactly("call-x.trend.png", "call-x.agent.spectrogram.png", "call-x.customer.spectrogram.png");
        for (Path png : result.images()) {
            BufferedImage image = ImageIO.read(png.toFile());
            assertThat(image).as(png.toString()).isNotNull();
            assertThat(image.getWidth()).isEqualTo(1200);
            assertThat(distinctColours(image))
                    .as("a drawn chart, not a blank image: " + png)
                    .isGreaterThan(20);
        }
        assertThat(result.detections()).hasSize(2);
        assertThat(result.detections())
                .filteredOn(ReportGenerator.Detection::detected)
                .singleElement()
                .satisfies(d -> {
                    assertThat(d.span().channel()).isEqualTo("customer");
                    assertThat(d.alertAtS()).isEqualTo(7.0);
                });
        assertThat(result.falseAlerts()).containsExactly(new ReportGenerator.FalseAlert("call-x", "agent", 3.0));
        JsonNode scores =
                new ObjectMapper().readTree(out.resolve("calls-evaluation.json").toFile());
        assertThat(scores.get("totals").get("negative_spans").asInt()).isEqualTo(2);
        assertThat(scores.get("totals").get("detected").asInt()).isEqualTo(1);
        assertThat(scores.get("totals").get("median_delay_s").asDouble()).isEqualTo(3.0); // 7 s - the span's 4 s
        assertThat(scores.get("totals").get("false_alerts").asInt()).isEqualTo(1);
        assertThat(scores.get("totals").get("spans_of_8s_or_more").asInt()).isZero();
        String html = Files.readString(result.html());
        assertThat(html)
                .contains("1 of 2 scripted negative spans detected")
                .contains("1 false alert.")
                .contains("detected, alert at 7.0 s (3.0 s after its start)")
                .contains("not detected")
                .contains("src=\"call-x.trend.png\"")
                .contains("src=\"call-x.customer.enhanced.wav\"")
                .contains("src=\"../calls/call-x.customer.wav\"");
    }

    @Test
    void theFinalCallSummaryAddsTheConversationMetricsAndWithoutOneTheReportHasNone() throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        List<EmotionTrend> trends = new ArrayList<>();
        for (int w = 0; w < 5; w++) {
            trends.add(trend("customer", w, probs(0.2f), TrendKind.UPDATE));
        }
        writeJsonl(out.resolve("trends.jsonl"), trends);
        writeJsonl(
                out.resolve("summaries.jsonl"),
                List.of(
                        TestRecords.summary("call-x", CallSummaryKind.PROGRESS, 5_000),
                        TestRecords.summary("call-x", CallSummaryKind.FINAL, 40_000)));
        ReportGenerator.Inputs inputs = new ReportGenerator.Inputs(
                out.resolve("events.jsonl"),
                out.resolve("trends.jsonl"),
                out.resolve("alerts.jsonl"),
                out.resolve("summaries.jsonl"),
                dir.resolve("no-calls"),
                out);

        String html = Files.readString(new ReportGenerator(inputs).write(out).html());

        assertThat(html)
                .contains("<h3>Conversation</h3>")
                .contains("40.0 s of call: silence 15 %, overtalk 5 %, longest customer monologue 7.9 s")
                .contains("<table class=conversation data-call=\"call-x\">")
                .contains("<td>agent</td><td>16.0 s (40 %)</td><td>-23.5 dBFS</td><td>1</td><td>4.3 s</td>"
                        + "<td>happy</td><td>angry 0 %, sad 10 %, happy 60 %, neutral 30 %</td>"
                        + "<td>0.12 at 3.0 s</td><td>none</td>")
                .contains("<td>customer</td><td>20.0 s (50 %)</td><td>-19.3 dBFS</td><td>2</td><td>7.9 s</td>"
                        + "<td>angry</td><td>angry 50 %, sad 10 %, happy 0 %, neutral 40 %</td>"
                        + "<td>0.63 at 17.0 s</td><td>start 17.0 s (0.63)</td>");

        Files.delete(out.resolve("summaries.jsonl"));
        String without = Files.readString(new ReportGenerator(inputs).write(out).html());
        assertThat(without).doesNotContain("Conversation").contains("call-x");
        // Only progress so far: no conversation metrics either.
        writeJsonl(
                out.resolve("summaries.jsonl"),
                List.of(TestRecords.summary("call-x", CallSummaryKind.PROGRESS, 5_000)));
        assertThat(Files.readString(new ReportGenerator(inputs).write(out).html()))
                .doesNotContain("Conversation");
    }

    @Test
    void anAlertAfterTheSpanPlusSlackDoesNotCount() {
        GroundTruth.Span span = new GroundTruth.Span("customer", 4, 9, "angry");
        assertThat(ReportGenerator.firstAlertIn(
                        starts(alert("customer", AlertKind.NEGATIVE_SPIKE_START, 14_000)), span))
                .isNull();
        assertThat(ReportGenerator.firstAlertIn(starts(alert("customer", AlertKind.NEGATIVE_SPIKE_START, 3_000)), span))
                .isNull();
        assertThat(ReportGenerator.firstAlertIn(starts(alert("customer", AlertKind.NEGATIVE_SPIKE_END, 5_000)), span))
                .isNull();
        assertThat(ReportGenerator.firstAlertIn(
                        starts(alert("customer", AlertKind.NEGATIVE_SPIKE_START, 12_500)), span))
                .isEqualTo(12.5);
    }

    private static List<Double> starts(EmotionAlert alert) {
        return ReportGenerator.spikeStartsS(List.of(alert));
    }

    @Test
    void aToneLandsInItsFrequencyBin() {
        Spectrogram s = Spectrogram.compute(tone(1000, 0.5f), RATE, 512, 160);
        float[] middle = s.db()[s.frames() / 2];
        int peak = 0;
        for (int k = 1; k < middle.length; k++) {
            if (middle[k] > middle[peak]) {
                peak = k;
            }
        }
        assertThat(peak).isEqualTo(Math.round(1000f * 512 / RATE));
        // Amplitude 0.5 is -6 dB relative to full scale.
        assertThat(middle[peak]).isBetween(-7.5f, -5.5f);
    }

    private static float[] tone(double hz, float amplitude) {
        Random random = new Random(1);
        float[] samples = new float[(int) (SECONDS * RATE)];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = (float) (amplitude * Math.sin(2 * Math.PI * hz * i / RATE) + 0.01 * random.nextGaussian());
        }
        return samples;
    }

    private static int distinctColours(BufferedImage image) {
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3) {
            for (int x = 0; x < image.getWidth(); x += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        return colours.size();
    }

    private static EmotionTrend trend(String channel, int window, EmotionProbabilities p, TrendKind kind) {
        return EmotionTrend.newBuilder()
                .setSessionId("call-x")
                .setChannel(channel)
                .setKind(kind)
                .setWindowIndex(window)
                .setTimeMs(3_000 + window * 1_000L)
                .setSmoothed(p)
                .setNegativity(p.getAngry() + p.getSad())
                .setSlope(0)
                .setSummary(
                        kind == TrendKind.SESSION_SUMMARY
                                ? new SessionSummary(12_000L, 10_000L, Emotion.NEUTRAL, p, 0.85f, 9_000L, 1)
                                : null)
                .build();
    }

    private static EmotionEvent event(String channel, int window, EmotionProbabilities p) {
        return EmotionEvent.newBuilder()
                .setSessionId("call-x")
                .setChannel(channel)
                .setWindowIndex(window)
                .setWindowStartMs(window * 1_000L)
                .setWindowEndMs(3_000 + window * 1_000L)
                .setWindowStartSample(window * 16_000L)
                .setWindowEndSample(48_000 + window * 16_000L)
                .setProbabilities(p)
                .setLabel(p.getAngry() > 0.5 ? Emotion.ANGRY : Emotion.NEUTRAL)
                .setConfidence(Math.max(p.getAngry(), p.getNeutral()))
                .setSpeechRatio(0.9f)
                .setModelVersion("test")
                .setLatencyMs(12)
                .build();
    }

    private static EmotionAlert alert(String channel, AlertKind kind, long timeMs) {
        return EmotionAlert.newBuilder()
                .setSessionId("call-x")
                .setChannel(channel)
                .setKind(kind)
                .setTimeMs(timeMs)
                .setWindowIndex(timeMs / 1000 - 3)
                .setScore(0.8f)
                .setEnterThreshold(0.6f)
                .setExitThreshold(0.4f)
                .setConsecutiveHops(3)
                .setEvidence(new AlertEvidence(Emotion.ANGRY, probs(0.8f), 0.85f, timeMs - 2_000))
                .build();
    }

    private static void writeJsonl(Path file, List<? extends SpecificRecord> records) throws IOException {
        StringBuilder text = new StringBuilder();
        for (SpecificRecord record : records) {
            text.append(AvroJson.toJson(record)).append('\n');
        }
        Files.writeString(file, text.toString(), StandardCharsets.UTF_8);
    }
}
