package io.meritstream.inference;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.List;

/**
 * {@link MeritModel} seen through the batcher's {@link WindowModel} seam. The gate probabilities stay behind: the job
 * reports routing as per-expert frame counts, which the routing outputs give exactly.
 */
public final class MeritWindowModel implements WindowModel {
    private final MeritModel model;
    private final InferenceDevice device;

    public MeritWindowModel(MeritModel model, InferenceDevice device) {
        this.model = model;
        this.device = device;
    }

    @Override
    public BatchOutput run(float[][] batch) throws Exception {
        return BatchOutput.of(model.run(batch, null, null));
    }

    @Override
    public BatchOutput run(float[][] batch, ModelCall call) throws Exception {
        return run(batch, null, call);
    }

    @Override
    public boolean usesSpeakerReference() {
        // A streaming encoder does not take the reference: its classifier does, in analytics.
        return model.usesSpeakerReference() && !model.card().isStreaming();
    }

    @Override
    public ModelCard.Streaming streaming() {
        return model.card().streaming();
    }

    /**
     * Aborts through ONNX Runtime's terminate flag, which the session checks between graph nodes. */
    @Override
    public BatchOutput run(float[][] batch, SpeakerReferenceInputs reference, ModelCall call) throws Exception {
        try (OrtSession.RunOptions options = new OrtSession.RunOptions()) {
            call.onAbort(() -> {
                try {
                    options.setTerminate(true);
                } catch (OrtException e) {
                    throw new IllegalStateException("could not abort the model call", e);
                }
            });
            try {
                return BatchOutput.of(model.run(batch, reference, options));
            } finally {
                // Before the options are closed: the abort action must not reach freed native memory.
                call.finished();
            }
        }
    }

    @Override
    public List<String> classes() {
        return model.classes();
    }

    @Override
    public int expertCount() {
        return model.expertCount();
    }

    @Override
    public String version() {
        return model.card().toString();
    }

    @Override
    public int minSamples() {
        return model.minSamples();
    }

    /** The device the session actually runs on (the CPU after a fallback). */
    public InferenceDevice device() {
        return device;
    }

    public MeritModel model() {
        return model;
    }

    @Override
    public void close() throws Exception {
        model.close();
    }

    @Override
    public String toString() {
        return version() + " on " + device;
    }
}
