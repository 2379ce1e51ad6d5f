package io.meritstream.analytics;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * Silero VAD v5 (MIT, the Silero Team; {@code models/vad/}) in ONNX Runtime: a small trained recurrent detector, far
 * better than an energy rule at telling speech from music on hold and non-stationary noise. One 32 ms step (512
 * samples, with the previous step's last 64 as context, as upstream feeds it) per call; the recurrent state, the
 * context and whether the channel is talking are the per-channel {@link #stateSize()} floats.
 *
 * <p>A frame is speech when its probability reaches the threshold, or, while the channel is talking, stays above the
 * threshold minus {@value #HYSTERESIS} (upstream's speech-timestamp rule), so that one weak frame inside a word does
 * not split it.
 *
 * <p>Runs one channel per call (batch 1): the job calls it from the keyed analytics, which sees one channel at a time
 * in window order. Measured on this project's 2-core machine: about 100 µs per 32 ms frame with pinned outputs (132
 * without), so about 3 ms of one core per channel-second; batching 8 channels per call would bring it to 55 µs.
 */
final class SileroSpeechGate implements SpeechGate {
    /** Classpath resource of the model, copied from {@code models/vad/} into the job jar. */
    static final String RESOURCE = "/models/vad/silero_vad_v5.onnx";

    /** sha256 of the file as shipped (models/vad/README.md): a changed or truncated file fails at start-up. */
    static final String SHA256 = "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f";

    static final int FRAME = 512;
    static final int CONTEXT = 64;
    private static final int RECURRENT = 2 * 128;
    /** State layout: recurrent state [2, 1, 128], then the context samples, then 1 when the channel is talking. */
    private static final int STATE_SIZE = RECURRENT + CONTEXT + 1;

    static final double HYSTERESIS = 0.15;

    private final OrtSession session;
    private final double threshold;
    private final FloatBuffer input = directFloats(CONTEXT + FRAME);
    private final FloatBuffer recurrent = directFloats(RECURRENT);
    private final FloatBuffer probability = directFloats(1);
    private final FloatBuffer nextRecurrent = directFloats(RECURRENT);
    private final OnnxTensor inputTensor;
    private final OnnxTensor stateTensor;
    private final OnnxTensor sampleRate;
    private final Map<String, OnnxTensorLike> inputs;
    /** Outputs written into these buffers (ONNX Runtime's pinned outputs): no allocation per frame, 22 % faster. */
    private final Map<String, OnnxValue> outputs;

    private SileroSpeechGate(OrtEnvironment env, OrtSession session, double threshold) throws OrtException {
        this.session = session;
        this.threshold = threshold;
        this.inputTensor = OnnxTensor.createTensor(env, input, new long[] {1, CONTEXT + FRAME});
        this.stateTensor = OnnxTensor.createTensor(env, recurrent, new long[] {2, 1, 128});
        this.sampleRate = OnnxTensor.createTensor(env, (long) ChannelAnalytics.SAMPLE_RATE);
        this.inputs = Map.of("input", inputTensor, "state", stateTensor, "sr", sampleRate);
        this.outputs = Map.of(
                "output", OnnxTensor.createTensor(env, probability, new long[] {1, 1}),
                "stateN", OnnxTensor.createTensor(env, nextRecurrent, new long[] {2, 1, 128}));
    }

    /** Loads the shipped model from the classpath, checking its sha256; one single-threaded session. */
    static SileroSpeechGate load(double threshold) {
        byte[] model = shippedModel();
        try {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            // Frames are tiny: threads would cost more in hand-offs than they save, and the cores belong to the model.
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            return new SileroSpeechGate(env, env.createSession(model, options), threshold);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot open the Silero VAD model " + RESOURCE, e);
        }
    }

    static byte[] shippedModel() {
        byte[] model;
        try (InputStream in = SileroSpeechGate.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the Silero VAD model " + RESOURCE + " is not on the classpath");
            }
            model = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        String sha256 = sha256(model);
        if (!SHA256.equals(sha256)) {
            throw new IllegalStateException(
                    "the Silero VAD model " + RESOURCE + " has sha256 " + sha256 + ", expected " + SHA256);
        }
        return model;
    }

    @Override
    public String name() {
        return "silero-vad-v5";
    }

    @Override
    public int frameSamples() {
        return FRAME;
    }

    @Override
    public int stateSize() {
        return STATE_SIZE;
    }

    @Override
    public void judge(float[] samples, int offset, int frames, float[] state, boolean[] speech) {
        for (int f = 0; f < frames; f++) {
            int start = offset + f * FRAME;
            input.clear();
            input.put(state, RECURRENT, CONTEXT).put(samples, start, FRAME).flip();
            recurrent.clear();
            recurrent.put(state, 0, RECURRENT).flip();
            try (OrtSession.Result unused = session.run(inputs, outputs)) {
                nextRecurrent.get(0, state, 0, RECURRENT);
            } catch (OrtException e) {
                throw new IllegalStateException("Silero VAD failed on a frame", e);
            }
            float p = probability.get(0);
            System.arraycopy(samples, start + FRAME - CONTEXT, state, RECURRENT, CONTEXT);
            boolean talking = state[STATE_SIZE - 1] > 0;
            speech[f] = p >= threshold || (talking && p >= threshold - HYSTERESIS);
            state[STATE_SIZE - 1] = speech[f] ? 1 : 0;
        }
    }

    @Override
    public void close() {
        outputs.values().forEach(OnnxValue::close);
        inputTensor.close();
        stateTensor.close();
        sampleRate.close();
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("cannot close the Silero VAD session", e);
        }
    }

    private static FloatBuffer directFloats(int n) {
        return ByteBuffer.allocateDirect(n * Float.BYTES)
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
