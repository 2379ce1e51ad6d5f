package io.meritstream.cli.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The call-level scores of a report as JSON ({@value #FILE_NAME}): every scripted negative span with the alert that
 * caught it and the delay from the span's start, every false alert, and the totals the speaker-reference issue's
 * targets are stated in (spans of at least {@value #LONG_SPAN_S} s caught, median delay, false alerts).
 */
final class CallEvaluation {
    static final String FILE_NAME = "calls-evaluation.json";
    static final double LONG_SPAN_S = 8.0;

    private CallEvaluation() {}

    static void write(
            Path file,
            List<ReportGenerator.Detection> detections,
            List<ReportGenerator.FalseAlert> falseAlerts,
            Map<String, Double> referenceFrom)
            throws IOException {
        List<Map<String, Object>> spans = new ArrayList<>();
        List<Double> delays = new ArrayList<>();
        int longSpans = 0;
        int longCaught = 0;
        for (ReportGenerator.Detection d : detections) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("session", d.sessionId());
            m.put("channel", d.span().channel());
            m.put("emotion", d.span().emotion());
            m.put("start_s", d.span().startS());
            m.put("end_s", d.span().endS());
            m.put("alert_at_s", d.alertAtS());
            Double delay = d.detected() ? d.alertAtS() - d.span().startS() : null;
            m.put("delay_s", delay);
            spans.add(m);
            if (delay != null) {
                delays.add(delay);
            }
            if (d.span().endS() - d.span().startS() >= LONG_SPAN_S) {
                longSpans++;
                longCaught += d.detected() ? 1 : 0;
            }
        }
        List<Map<String, Object>> falses = new ArrayList<>();
        for (ReportGenerator.FalseAlert f : falseAlerts) {
            falses.add(Map.of("session", f.sessionId(), "channel", f.channel(), "at_s", f.atS()));
        }
        Map<String, Object> totals = new LinkedHashMap<>();
        totals.put("negative_spans", detections.size());
        totals.put("detected", delays.size());
        totals.put("spans_of_8s_or_more", longSpans);
        totals.put("spans_of_8s_or_more_detected", longCaught);
        totals.put("median_delay_s", median(delays));
        totals.put("false_alerts", falseAlerts.size());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("totals", totals);
        out.put("spans", spans);
        out.put("false_alerts", falses);
        out.put("speaker_reference_from_s", referenceFrom);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), out);
    }

    static Double median(List<Double> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
