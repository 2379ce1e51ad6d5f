package io.meritstream.cli.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.cli.FileNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The scripted ground truth of a demo call ({@code data/calls/<id>.json}, see data/calls/README.md). */
public record GroundTruth(
        String id, String title, double durationS, Map<String, String> channelFiles, List<Span> spans) {
    /** A run of one emotion on one channel. */
    public record Span(String channel, double startS, double endS, String emotion) {
        public boolean negative() {
            return emotion.equals("angry") || emotion.equals("sad");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The ground truth of {@code sessionId} in {@code dir}, if there is a {@code <sessionId>.json}. */
    public static Optional<GroundTruth> find(Path dir, String sessionId) throws IOException {
        if (dir == null) {
            return Optional.empty();
        }
        Path file = FileNames.inside(dir, FileNames.part(sessionId) + ".json");
        return Files.isRegularFile(file) ? Optional.of(read(file)) : Optional.empty();
    }

    public static GroundTruth read(Path file) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        Map<String, String> files = new LinkedHashMap<>();
        root.path("channels")
                .fields()
                .forEachRemaining(
                        e -> files.put(e.getKey(), e.getValue().path("file").asText()));
        List<Span> spans = new ArrayList<>();
        for (JsonNode span : root.path("spans")) {
            spans.add(new Span(
                    span.path("channel").asText(),
                    span.path("start_s").asDouble(),
                    span.path("end_s").asDouble(),
                    span.path("emotion").asText()));
        }
        return new GroundTruth(
                root.path("id").asText(file.getFileName().toString().replaceFirst("\\.json$", "")),
                root.path("title").asText(""),
                root.path("duration_s").asDouble(),
                files,
                spans);
    }

    public List<Span> spans(String channel) {
        return spans.stream().filter(s -> s.channel().equals(channel)).toList();
    }
}
