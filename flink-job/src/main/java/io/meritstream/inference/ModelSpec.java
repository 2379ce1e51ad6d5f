package io.meritstream.inference;

import java.io.Serializable;

/**
 * Identifies one model session: which model, on which device, with which thread pools. Subtasks of one TaskManager that
 * ask for equal specs share one session through {@link SharedModelRegistry}.
 *
 * @param modelPath file system path of the {@code .onnx} (its card is the {@code .json} beside it), or null for the
 *     default model packaged on the classpath
 * @param device the requested device; what runs is decided at load time ({@link InferenceDevice#resolve})
 * @param deviceFallback whether a CUDA request may fall back to the CPU when CUDA is missing
 * @param intraOpThreads ONNX Runtime threads inside one operator (0 = ONNX Runtime's default: one per core)
 * @param interOpThreads ONNX Runtime threads across independent operators (0 = ONNX Runtime's default)
 */
public record ModelSpec(
        String modelPath, InferenceDevice device, boolean deviceFallback, int intraOpThreads, int interOpThreads)
        implements Serializable {

    public ModelSpec {
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = ONNX Runtime's default), got intra-op "
                    + intraOpThreads + ", inter-op " + interOpThreads);
        }
    }

    public boolean usesDefaultModel() {
        return modelPath == null;
    }

    @Override
    public String toString() {
        return (modelPath == null ? "<default model>" : modelPath) + " on " + device
                + (deviceFallback ? " (cpu fallback)" : "") + ", threads intra " + intraOpThreads + " inter "
                + interOpThreads;
    }
}
