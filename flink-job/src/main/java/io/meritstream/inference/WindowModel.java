package io.meritstream.inference;

/**
 * A model that turns a batch of 16 kHz waveforms into enhanced audio, emotion logits and expert routing: the seam
 * between the micro-batcher and ONNX Runtime. The job runs {@code MeritModel} through it; tests inject a fake.
 *
 * <p>Implementations must be safe to call from several threads at once: one instance is shared by every inference
 * subtask of a TaskManager (see {@link SharedModelRegistry}), and ONNX Runtime sessions are thread-safe for {@code run}.
 */
public interface WindowModel extends AutoCloseable {

    /**
     * Runs one batch. Every row has the same length N (the caller pads); N is at least {@link #minSamples()}.
     *
     * @return enhanced audio [B][N], emotion logits [B][C] and, for models with experts, routing [B][T]
     * @throws Exception when the runtime fails; the caller retries once, then reports the windows as failed
     */
    BatchOutput run(float[][] batch) throws Exception;

    /**
     * Runs one batch that the caller may abort at a deadline through {@code call}. Models that can abort a running call
     * (ONNX Runtime's terminate flag) register how with {@link ModelCall#onAbort} and throw when aborted; the default
     * cannot abort and just runs the batch.
     */
    default BatchOutput run(float[][] batch, ModelCall call) throws Exception {
        return run(batch);
    }

    /**
     * Whether the model takes the speaker-reference inputs ({@link SpeakerReferenceInputs}); the batcher then calls
     * {@link #run(float[][], SpeakerReferenceInputs, ModelCall)}.
     */
    default boolean usesSpeakerReference() {
        return false;
    }

    /** Runs one batch with its speaker-reference inputs; models without them ignore the reference. */
    default BatchOutput run(float[][] batch, SpeakerReferenceInputs reference, ModelCall call) throws Exception {
        return run(batch, call);
    }

    /**
     * How a streaming model runs ({@link ModelCard.Streaming}), or null for a window model: the batcher then gets each
     * hop's chunk and returns SER features instead of logits.
     */
    default ModelCard.Streaming streaming() {
        return null;
    }

    /** Emotion class names in the order of the logits. */
    java.util.List<String> classes();

    /** Experts a gate can route to; 0 for models without experts (baselines), whose routing outputs are absent. */
    int expertCount();

    /** Name and version from the model card, e.g. {@code merit-sparse-tiny 0.1.0}. */
    String version();

    /**
     * Shortest input that yields at least one frame. The wav2vec2-style conv front end every backbone here shares has a
     * 400-sample receptive field: shorter inputs have no frames and no output.
     */
    default int minSamples() {
        return 400;
    }

    /**
     * 20 ms frames the model yields for {@code samples} samples of input: {@code floor((N - 400) / 320) + 1} for the
     * wav2vec2 conv front end (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2). Used to drop the routing of frames that
     * only padding fed when a short window rode in a batch with longer ones.
     */
    default int frameCount(int samples) {
        return samples < 400 ? 0 : (samples - 400) / 320 + 1;
    }

    @Override
    void close() throws Exception;
}
