package io.meritstream.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.Serializable;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A streaming model's emotion classifier (the graph beside its encoder, {@link ModelCard.Streaming#classifierFile}):
 * the SER head's attentive pooling and MLP over the SER features of a window's last hops, {@code ser_frames} [1, T, D]
 * and {@code frame_db} [1, T] (heads with level features) and the speaker-reference inputs (models with one) to
 * {@code emotion_logits} [1, C]. A few MFLOP: one single-threaded session per analytics subtask, called once per
 * window of one channel, which keeps the features of its channel's earlier hops in keyed state. Not thread-safe (one
 * subtask, one thread).
 */
public final class StreamingClassifier implements AutoCloseable {

    public static final String SER_FRAMES = MeritModel.SER_FRAMES;
    public static final String FRAME_DB = MeritModel.FRAME_DB;

    /**
     * Where the classifier is and what it takes: built from the model's card where the job is built, opened in each
     * analytics subtask.
     */
    public record Spec(
            String path, String sha256, int framesPerHop, int featureDim, int hopsPerWindow, boolean speakerReference)
            implements Serializable {

        /** The classifier of {@code model}'s card, or null for a window model. */
        public static Spec of(ModelSpec model, ModelCard card) {
            ModelCard.Streaming s = card.streaming();
            if (s == null) {
                return null;
            }
            if (model.usesDefaultModel()) {
                throw new IllegalArgumentException("the packaged default model is a streaming model, which the job does"
                        + " not support from the classpath; set '" + InferenceOptions.MODEL_PATH.key() + "'");
            }
            Path path = Path.of(model.modelPath()).resolveSibling(s.classifierFile());
            return new Spec(
                    path.toString(),
                    s.classifierSha256(),
                    s.framesPerHop(),
                    s.featureDim(),
                    s.hopsPerWindow(),
                    card.usesSpeakerReference());
        }
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final Spec spec;

    private final boolean takesFrameDb;

    private StreamingClassifier(OrtEnvironment env, OrtSession session, Spec spec) {
        this.env = env;
        this.session = session;
        this.spec = spec;
        this.takesFrameDb = session.getInputNames().contains(FRAME_DB);
    }

    /**
     * Opens the classifier, checking its sha256 against the card and its inputs against the contract.
     *
     * @throws IllegalArgumentException naming the file when it is missing, differs from the card, or has other inputs
     */
    public static StreamingClassifier open(Spec spec) throws IOException, OrtException {
        Path path = Path.of(spec.path());
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("The streaming model's classifier " + path + " (named by its card)"
                    + " does not exist: it is exported beside the encoder by merit.streaming");
        }
        String sha256 = MeritModel.sha256(bytes);
        if (!sha256.equalsIgnoreCase(spec.sha256())) {
            throw new IllegalArgumentException("sha256 mismatch for " + path + ": the model card says " + spec.sha256()
                    + " but the file hashes to " + sha256 + " (the classifier and the encoder are from different"
                    + " exports)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            // A few MFLOP per call: threads would cost more in hand-offs than they save, and the cores are the model's.
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            session = env.createSession(bytes, options);
        }
        // frame_db only where the SER head uses level features (the exporter drops an input the graph does not read).
        Set<String> expected = new TreeSet<>(Set.of(SER_FRAMES));
        if (session.getInputNames().contains(FRAME_DB)) {
            expected.add(FRAME_DB);
        }
        if (spec.speakerReference()) {
            expected.addAll(Set.of(MeritModel.PROSODY, MeritModel.SPEAKER_REF, MeritModel.SPEAKER_REF_WEIGHT));
        }
        if (!session.getInputNames().equals(expected)
                || !session.getOutputNames().contains(MeritModel.EMOTION_LOGITS)) {
            String found = new TreeSet<>(session.getInputNames()) + " -> " + new TreeSet<>(session.getOutputNames());
            session.close();
            throw new IllegalArgumentException("Streaming classifier " + path + " has " + found + " but needs inputs "
                    + new TreeSet<>(expected) + " and output " + MeritModel.EMOTION_LOGITS);
        }
        return new StreamingClassifier(env, session, spec);
    }

    /**
     * Emotion logits of one window.
     *
     * @param frames SER features of the window's hops, oldest first: {@code frameCount} × D floats, frame-major
     * @param frameDb their levels in dB, {@code frameCount} floats
     * @param prosody the window's prosody features, or null for a model without a speaker reference
     * @param speakerRef the channel's reference (mean then std), or null with {@code prosody}
     * @param speakerRefWeight the reference's weight; 0 = none
     */
    public float[] logits(
            float[] frames,
            float[] frameDb,
            int frameCount,
            float[] prosody,
            float[] speakerRef,
            float speakerRefWeight)
            throws OrtException {
        int d = spec.featureDim();
        if (frameCount <= 0 || frames.length < frameCount * d || frameDb.length < frameCount) {
            throw new IllegalArgumentException("classifier input of " + frameCount + " frames needs " + frameCount * d
                    + " features and " + frameCount + " levels, got " + frames.length + " and " + frameDb.length);
        }
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put(SER_FRAMES, OnnxTensor.createTensor(env, FloatBuffer.wrap(frames, 0, frameCount * d), new long[] {
                1, frameCount, d
            }));
            if (takesFrameDb) {
                feeds.put(FRAME_DB, OnnxTensor.createTensor(env, FloatBuffer.wrap(frameDb, 0, frameCount), new long[] {
                    1, frameCount
                }));
            }
            if (spec.speakerReference()) {
                MeritModel.putReference(
                        env,
                        SpeakerReferenceInputs.of(
                                List.of(new SpeakerReferenceInputs.Row(prosody, speakerRef, speakerRefWeight))),
                        feeds);
            }
            try (OrtSession.Result result = session.run(feeds)) {
                FloatBuffer logits =
                        ((OnnxTensor) result.get(MeritModel.EMOTION_LOGITS).orElseThrow()).getFloatBuffer();
                float[] out = new float[logits.remaining()];
                logits.get(out);
                return out;
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    public Spec spec() {
        return spec;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
