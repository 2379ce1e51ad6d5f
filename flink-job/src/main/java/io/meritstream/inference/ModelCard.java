package io.meritstream.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON model card written beside every exported ONNX graph by {@code model/merit/export.py}: what the graph is,
 * its sha256, the audio it expects and the order of its outputs. Unknown fields are ignored so cards can grow.
 *
 * @param name model name, e.g. {@code sparse_merit_tiny}
 * @param version model version
 * @param file the ONNX file name the card describes
 * @param sha256 lower-case hex sha256 of the ONNX file
 * @param sampleRate input sample rate in Hz (16000)
 * @param windowSeconds window length the model was trained for
 * @param hopSeconds hop between windows the model was trained for
 * @param minSamples shortest input that yields a frame
 * @param classes emotion classes in the order of the {@code emotion_logits} columns (empty for SE-only models)
 * @param outputs the graph's outputs, in graph order
 * @param config the full training config, as JSON text
 * @param speakerReferenceVersion the version of the speaker-reference features the graph takes as extra inputs
 *     ({@code speaker_reference.version}); 0 when it takes none
 * @param streaming how a streaming model's two graphs run ({@code streaming}), or null for a window model
 */
public record ModelCard(
        String name,
        String version,
        String file,
        String sha256,
        int sampleRate,
        double windowSeconds,
        double hopSeconds,
        int minSamples,
        List<String> classes,
        List<OutputSpec> outputs,
        String config,
        int speakerReferenceVersion,
        Streaming streaming) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One graph output.
     *
     * @param name output name
     * @param dtype {@code float32} or {@code int64}
     * @param shape dimensions: symbolic names ({@code B}, {@code N}, {@code T}) or sizes, as text
     */
    public record OutputSpec(String name, String dtype, List<String> shape) {}

    /**
     * A streaming model ({@code model/merit/streaming.py}): the card's graph is the encoder, run once per hop on the hop
     * and {@code contextSamples} before it ({@code waveform} [B, C + H]); its {@code enhanced} output [B, H + X] ends
     * {@code lookaheadSamples} before the chunk does and starts {@code overlapSamples} before its hop; {@code
     * ser_frames} [B, F, D] and {@code frame_db} [B, F] are the hop's SER features, which the classifier graph beside it
     * ({@code classifierFile}) pools over the window's last {@code hopsPerWindow} hops.
     */
    public record Streaming(
            int contextSamples,
            int hopSamples,
            int lookaheadSamples,
            int overlapSamples,
            int hopsPerWindow,
            int framesPerHop,
            int featureDim,
            String classifierFile,
            String classifierSha256) {

        /** Samples the encoder takes per hop: C + H. */
        public int chunkSamples() {
            return contextSamples + hopSamples;
        }

        /** Samples of enhanced audio the encoder returns per hop: H + X. */
        public int enhancedSamples() {
            return hopSamples + overlapSamples;
        }
    }

    public ModelCard {
        classes = List.copyOf(classes);
        outputs = List.copyOf(outputs);
    }

    /** The card next to {@code model.onnx}: {@code model.json}. */
    public static Path besideModel(Path onnxPath) {
        String fileName = onnxPath.getFileName().toString();
        String stem = fileName.endsWith(".onnx") ? fileName.substring(0, fileName.length() - 5) : fileName;
        return onnxPath.resolveSibling(stem + ".json");
    }

    /**
     * Reads and checks a card.
     *
     * @throws IllegalArgumentException when the file is missing, is not JSON, or lacks a field (named in the message)
     */
    public static ModelCard read(Path cardPath) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(cardPath));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("Model card not found: " + cardPath
                    + " (the exporter writes NAME.json beside NAME.onnx; export the model again with merit.export)");
        } catch (IOException e) {
            throw new IllegalArgumentException("Model card " + cardPath + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("Model card " + cardPath + " must be a JSON object");
        }
        List<String> classes = new ArrayList<>();
        JsonNode classesNode = root.path("classes");
        if (classesNode.isArray()) {
            classesNode.forEach(c -> classes.add(c.asText()));
        }
        List<OutputSpec> outputs = new ArrayList<>();
        for (JsonNode o : required(root, "outputs", cardPath)) {
            List<String> shape = new ArrayList<>();
            o.path("shape").forEach(d -> shape.add(d.asText()));
            outputs.add(new OutputSpec(
                    required(o, "name", cardPath).asText(),
                    required(o, "dtype", cardPath).asText(),
                    shape));
        }
        return new ModelCard(
                required(root, "name", cardPath).asText(),
                required(root, "version", cardPath).asText(),
                required(root, "file", cardPath).asText(),
                required(root, "sha256", cardPath).asText(),
                required(root, "sample_rate", cardPath).asInt(),
                required(root, "window_seconds", cardPath).asDouble(),
                required(root, "hop_seconds", cardPath).asDouble(),
                root.path("min_samples").asInt(400),
                classes,
                outputs,
                root.path("config").toString(),
                root.path("speaker_reference").path("version").asInt(0),
                streaming(root.get("streaming"), cardPath));
    }

    private static Streaming streaming(JsonNode node, Path cardPath) {
        if (node == null || node.isNull()) {
            return null;
        }
        JsonNode classifier = required(node, "classifier", cardPath);
        Streaming s = new Streaming(
                required(node, "context_samples", cardPath).asInt(),
                required(node, "hop_samples", cardPath).asInt(),
                required(node, "lookahead_samples", cardPath).asInt(),
                required(node, "overlap_samples", cardPath).asInt(),
                required(node, "hops_per_window", cardPath).asInt(),
                required(node, "frames_per_hop", cardPath).asInt(),
                required(node, "feature_dim", cardPath).asInt(),
                required(classifier, "file", cardPath).asText(),
                required(classifier, "sha256", cardPath).asText());
        if (s.hopSamples() <= 0
                || s.contextSamples() < 0
                || s.lookaheadSamples() < 0
                || s.overlapSamples() < 0
                || s.lookaheadSamples() + s.overlapSamples() > s.contextSamples()
                || s.hopsPerWindow() <= 0
                || s.framesPerHop() <= 0
                || s.featureDim() <= 0) {
            throw new IllegalArgumentException(
                    "Model card " + cardPath + " has an inconsistent 'streaming' section: " + s);
        }
        return s;
    }

    private static JsonNode required(JsonNode node, String field, Path cardPath) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new IllegalArgumentException("Model card " + cardPath + " has no '" + field + "' field");
        }
        return value;
    }

    public boolean usesSpeakerReference() {
        return speakerReferenceVersion > 0;
    }

    /** Experts of the card's config ({@code config.moe.num_experts}); 0 for models without experts. */
    public static int expertsOf(ModelCard card) {
        try {
            return JSON.readTree(card.config()).path("moe").path("num_experts").asInt(0);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Whether this is a streaming model (an encoder per hop plus a classifier; {@link #streaming}). */
    public boolean isStreaming() {
        return streaming != null;
    }

    /** Output names in graph order. */
    public List<String> outputNames() {
        return outputs.stream().map(OutputSpec::name).toList();
    }

    @Override
    public String toString() {
        return name + " " + version;
    }
}
