package io.meritstream.inference;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.meritstream.speaker.ProsodyAnalyzer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * An exported Sparse MERIT graph (or a baseline) in one ONNX Runtime session, checked against its model card on load.
 *
 * <p>The graph contract (DESIGN.md): input {@code waveform} float32 [B, N] at 16 kHz; outputs {@code enhanced} float32
 * [B, N], {@code emotion_logits} float32 [B, C] and, for models with experts, {@code routing_se} / {@code routing_ser}
 * int64 [B, T] and {@code gate_se} / {@code gate_ser} float32 [B, T, E]. A graph whose card declares {@code
 * speaker_reference} takes {@code prosody}, {@code speaker_ref} and {@code speaker_ref_weight} as well ({@link
 * SpeakerReferenceInputs}). {@code run} is thread-safe (ORT sessions are).
 *
 * <p>A streaming model's graph ({@link ModelCard#isStreaming}) is its per-hop encoder: {@code waveform} [B, C + H] in,
 * {@code enhanced} [B, H + X], {@code ser_frames} [B, F, D], {@code frame_db} [B, F] and {@code routing_se} / {@code
 * routing_ser} [B, F] out, without emotion logits (its classifier runs in analytics, {@link StreamingClassifier}) and
 * without the speaker-reference inputs (they go to the classifier).
 */
public final class MeritModel implements AutoCloseable {

    public static final String INPUT = "waveform";
    public static final String PROSODY = "prosody";
    public static final String SPEAKER_REF = "speaker_ref";
    public static final String SPEAKER_REF_WEIGHT = "speaker_ref_weight";
    private static final Set<String> REFERENCE_INPUTS = Set.of(INPUT, PROSODY, SPEAKER_REF, SPEAKER_REF_WEIGHT);
    public static final String ENHANCED = "enhanced";
    public static final String EMOTION_LOGITS = "emotion_logits";
    public static final String ROUTING_SE = "routing_se";
    public static final String ROUTING_SER = "routing_ser";
    public static final String GATE_SE = "gate_se";
    public static final String GATE_SER = "gate_ser";
    public static final String SER_FRAMES = "ser_frames";
    public static final String FRAME_DB = "frame_db";
    private static final List<String> REQUIRED_OUTPUTS = List.of(ENHANCED, EMOTION_LOGITS);
    private static final List<String> STREAMING_OUTPUTS =
            List.of(ENHANCED, SER_FRAMES, FRAME_DB, ROUTING_SE, ROUTING_SER);
    private static final List<String> EXPERT_OUTPUTS = List.of(ROUTING_SE, ROUTING_SER, GATE_SE, GATE_SER);

    /** What the job feeds the model; {@link #load(Path, Expectations, OrtSession.SessionOptions)} checks the card. */
    public record Expectations(int sampleRate, List<String> classes) {
        public static final Expectations DEFAULT =
                new Expectations(16_000, List.of("angry", "sad", "happy", "neutral"));

        public Expectations {
            classes = List.copyOf(classes);
        }
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelCard card;
    private final int expertCount;

    private MeritModel(OrtEnvironment env, OrtSession session, ModelCard card, int expertCount) {
        this.env = env;
        this.session = session;
        this.card = card;
        this.expertCount = expertCount;
    }

    /** Loads {@code onnxPath} and the card beside it with the default expectations and session options. */
    public static MeritModel load(Path onnxPath) throws IOException, OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            return load(onnxPath, Expectations.DEFAULT, options);
        }
    }

    /**
     * Loads and verifies a model: the file's sha256 against the card, the card's sample rate and classes against
     * {@code expected}, and the graph's input and outputs against the contract and the card.
     *
     * @throws IllegalArgumentException with a message naming the file, the field, and both values, when a check fails
     */
    public static MeritModel load(Path onnxPath, Expectations expected, OrtSession.SessionOptions options)
            throws IOException, OrtException {
        Path cardPath = ModelCard.besideModel(onnxPath);
        ModelCard card = ModelCard.read(cardPath);
        // Hash the bytes ORT will load, so the checked file and the loaded file cannot differ.
        byte[] bytes = Files.readAllBytes(onnxPath);
        String actualSha = sha256(bytes);
        if (!actualSha.equalsIgnoreCase(card.sha256())) {
            throw new IllegalArgumentException("sha256 mismatch for " + onnxPath + ": card " + cardPath + " says "
                    + card.sha256() + " but the file hashes to " + actualSha
                    + " (the model and its card are from different exports)");
        }
        if (card.sampleRate() != expected.sampleRate()) {
            throw new IllegalArgumentException("Model " + card + " expects " + card.sampleRate() + " Hz audio (card "
                    + cardPath + ") but the job feeds " + expected.sampleRate() + " Hz");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = env.createSession(bytes, options);
        try {
            int experts = checkGraph(session, card, onnxPath);
            // After the graph check, so that an SE-only graph is named for its missing output, not its empty classes.
            if (!card.classes().equals(expected.classes())) {
                throw new IllegalArgumentException("Model " + card + " has emotion classes " + card.classes()
                        + " (card " + cardPath + ") but the job expects " + expected.classes() + " in that order");
            }
            return new MeritModel(env, session, card, experts);
        } catch (RuntimeException | OrtException e) {
            session.close();
            throw e;
        }
    }

    /** Checks the graph against the contract and the card; returns the number of experts (0 without routing). */
    private static int checkGraph(OrtSession session, ModelCard card, Path onnxPath) throws OrtException {
        if (card.isStreaming()) {
            return checkStreamingGraph(session, card, onnxPath);
        }
        Set<String> inputs = session.getInputNames();
        Set<String> expectedInputs = card.usesSpeakerReference() ? REFERENCE_INPUTS : Set.of(INPUT);
        if (!inputs.equals(expectedInputs)) {
            throw new IllegalArgumentException("Model " + onnxPath + " has inputs " + new TreeSet<>(inputs)
                    + " but its card " + (card.usesSpeakerReference() ? "declares a speaker reference, so it" : "")
                    + " needs exactly " + new TreeSet<>(expectedInputs));
        }
        if (card.usesSpeakerReference() && card.speakerReferenceVersion() != ProsodyAnalyzer.VERSION) {
            throw new IllegalArgumentException("Model " + card + " takes speaker-reference features of version "
                    + card.speakerReferenceVersion() + " but this job computes version " + ProsodyAnalyzer.VERSION);
        }
        Set<String> outputs = session.getOutputNames();
        for (String required : REQUIRED_OUTPUTS) {
            if (!outputs.contains(required)) {
                throw new IllegalArgumentException("Model " + onnxPath + " has no output '" + required + "' (outputs: "
                        + new TreeSet<>(outputs) + "); the job needs " + REQUIRED_OUTPUTS);
            }
        }
        long expertOutputs = EXPERT_OUTPUTS.stream().filter(outputs::contains).count();
        if (expertOutputs != 0 && expertOutputs != EXPERT_OUTPUTS.size()) {
            throw new IllegalArgumentException("Model " + onnxPath + " has only some of the routing outputs "
                    + EXPERT_OUTPUTS + " (outputs: " + new TreeSet<>(outputs) + "); a model has all or none");
        }
        Set<String> cardOutputs = new TreeSet<>(card.outputNames());
        if (!cardOutputs.equals(new TreeSet<>(outputs))) {
            throw new IllegalArgumentException("Model card for " + onnxPath + " lists outputs " + cardOutputs
                    + " but the graph has " + new TreeSet<>(outputs));
        }
        if (expertOutputs == 0) {
            return 0;
        }
        NodeInfo gate = session.getOutputInfo().get(GATE_SE);
        long[] shape = ((TensorInfo) gate.getInfo()).getShape();
        return (int) shape[shape.length - 1];
    }

    private static int checkStreamingGraph(OrtSession session, ModelCard card, Path onnxPath) {
        if (!session.getInputNames().equals(Set.of(INPUT))) {
            throw new IllegalArgumentException("Streaming model " + onnxPath + " has inputs "
                    + new TreeSet<>(session.getInputNames()) + " but its encoder takes exactly [" + INPUT + "]");
        }
        if (!new TreeSet<>(session.getOutputNames()).equals(new TreeSet<>(STREAMING_OUTPUTS))
                || !new TreeSet<>(card.outputNames()).equals(new TreeSet<>(STREAMING_OUTPUTS))) {
            throw new IllegalArgumentException("Streaming model " + onnxPath + " has outputs "
                    + new TreeSet<>(session.getOutputNames()) + " (card: " + new TreeSet<>(card.outputNames())
                    + ") but its encoder has exactly " + new TreeSet<>(STREAMING_OUTPUTS));
        }
        int experts = ModelCard.expertsOf(card);
        if (experts <= 0) {
            throw new IllegalArgumentException(
                    "Streaming model card for " + onnxPath + " has no 'config.moe.num_experts'");
        }
        return experts;
    }

    /**
     * Runs one padded batch.
     *
     * @param waveforms [B][N] 16 kHz samples, every row the same length N >= {@link #minSamples()}
     * @throws IllegalArgumentException for an empty batch, ragged rows or rows that are too short
     */
    public MeritOutput run(float[][] waveforms) throws OrtException {
        return run(waveforms, null, null);
    }

    /**
     * Runs one padded batch with run options, e.g. to abort it from another thread with {@code setTerminate(true)}.
     *
     * @param reference the speaker-reference inputs, for a graph that takes them (null: "no reference" for every row);
     *     ignored by graphs without them
     * @param runOptions options of this call, or null for none
     */
    public MeritOutput run(float[][] waveforms, SpeakerReferenceInputs reference, OrtSession.RunOptions runOptions)
            throws OrtException {
        int batch = waveforms.length;
        if (batch == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        int samples = waveforms[0].length;
        if (samples < minSamples()) {
            throw new IllegalArgumentException(
                    "rows have " + samples + " samples; the model needs at least " + minSamples());
        }
        FloatBuffer input = InputBuffer.of(batch * samples);
        for (int b = 0; b < batch; b++) {
            if (waveforms[b].length != samples) {
                throw new IllegalArgumentException("row " + b + " has " + waveforms[b].length
                        + " samples but row 0 has " + samples + "; pad the batch to one length");
            }
            input.put(waveforms[b]);
        }
        input.rewind();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try (OnnxTensor tensor = OnnxTensor.createTensor(env, input, new long[] {batch, samples})) {
            feeds.put(INPUT, tensor);
            if (usesSpeakerReference() && !card.isStreaming()) {
                SpeakerReferenceInputs ref = reference != null
                        ? reference
                        : SpeakerReferenceInputs.of(Collections.nCopies(batch, SpeakerReferenceInputs.Row.NONE));
                if (ref.weight().length != batch) {
                    throw new IllegalArgumentException(
                            "speaker reference has " + ref.weight().length + " rows for a batch of " + batch);
                }
                putReference(env, ref, feeds);
            }
            return run(feeds, batch, runOptions);
        } finally {
            feeds.forEach((name, t) -> {
                if (!INPUT.equals(name)) {
                    t.close();
                }
            });
        }
    }

    /** The speaker-reference inputs of a batch as the graphs' three feeds (this model's, or a streaming classifier's). */
    static void putReference(OrtEnvironment env, SpeakerReferenceInputs ref, Map<String, OnnxTensor> feeds)
            throws OrtException {
        feeds.put(PROSODY, OnnxTensor.createTensor(env, ref.prosody()));
        feeds.put(SPEAKER_REF, OnnxTensor.createTensor(env, ref.speakerRef()));
        feeds.put(
                SPEAKER_REF_WEIGHT,
                OnnxTensor.createTensor(env, FloatBuffer.wrap(ref.weight()), new long[] {ref.weight().length}));
    }

    private MeritOutput run(Map<String, OnnxTensor> feeds, int batch, OrtSession.RunOptions runOptions)
            throws OrtException {
        try (OrtSession.Result result = runOptions == null ? session.run(feeds) : session.run(feeds, runOptions)) {
            float[][] enhanced = floats2d(result, ENHANCED, batch);
            if (card.isStreaming()) {
                return MeritOutput.streaming(
                        enhanced,
                        floats2d(result, SER_FRAMES, batch),
                        floats2d(result, FRAME_DB, batch),
                        longs2d(result, ROUTING_SE, batch),
                        longs2d(result, ROUTING_SER, batch));
            }
            float[][] logits = floats2d(result, EMOTION_LOGITS, batch);
            if (expertCount == 0) {
                return new MeritOutput(enhanced, logits, null, null, null, null);
            }
            return new MeritOutput(
                    enhanced,
                    logits,
                    longs2d(result, ROUTING_SE, batch),
                    longs2d(result, ROUTING_SER, batch),
                    floats3d(result, GATE_SE, batch, expertCount),
                    floats3d(result, GATE_SER, batch, expertCount));
        }
    }

    private static OnnxTensor tensor(OrtSession.Result result, String name) {
        OnnxValue value = result.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
        return (OnnxTensor) value;
    }

    private static float[][] floats2d(OrtSession.Result result, String name, int batch) {
        FloatBuffer buf = tensor(result, name).getFloatBuffer();
        int cols = buf.remaining() / batch;
        float[][] out = new float[batch][cols];
        for (float[] row : out) {
            buf.get(row);
        }
        return out;
    }

    private static long[][] longs2d(OrtSession.Result result, String name, int batch) {
        LongBuffer buf = tensor(result, name).getLongBuffer();
        int cols = buf.remaining() / batch;
        long[][] out = new long[batch][cols];
        for (long[] row : out) {
            buf.get(row);
        }
        return out;
    }

    private static float[][][] floats3d(OrtSession.Result result, String name, int batch, int last) {
        FloatBuffer buf = tensor(result, name).getFloatBuffer();
        int frames = buf.remaining() / (batch * last);
        float[][][] out = new float[batch][frames][last];
        for (float[][] rows : out) {
            for (float[] row : rows) {
                buf.get(row);
            }
        }
        return out;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    public ModelCard card() {
        return card;
    }

    /** Name and version from the model card, e.g. {@code sparse_merit_tiny 0.1.0}. */
    public String version() {
        return card.name() + " " + card.version();
    }

    /** Emotion classes in logit order. */
    public List<String> classes() {
        return card.classes();
    }

    /**
     * Whether the model takes the speaker-reference inputs (its card says so); a streaming model takes them in its
     * classifier, not in this graph.
     */
    public boolean usesSpeakerReference() {
        return card.usesSpeakerReference();
    }

    /** Experts a gate routes to; 0 for models without experts. */
    public int expertCount() {
        return expertCount;
    }

    /** Shortest input with at least one frame (the conv front end's 400-sample receptive field). */
    public int minSamples() {
        return card.minSamples();
    }

    /** Graph output names, in the card's order. */
    public List<String> outputNames() {
        return new ArrayList<>(card.outputNames());
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
