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
 * @param spinWait whether ONNX Runtime's threads spin between the parallel parts of a call instead of sleeping
 * @param fixedBatchMax on CUDA, the largest batch ({@code inference.batch.max}): calls are padded to a few fixed
 *     batch sizes up to it, each warmed up at load ({@link FixedShapeModel}); 0 = shapes as they come
 * @param fixedSamples on CUDA, the window length every call is padded to; 0 with {@code fixedBatchMax} 0
 */
public record ModelSpec(
        String modelPath,
        InferenceDevice device,
        boolean deviceFallback,
        int intraOpThreads,
        int interOpThreads,
        boolean spinWait,
        int fixedBatchMax,
        int fixedSamples)
        implements Serializable {

    /** A spec without fixed shapes and without spinning threads: tools and tests that run the model on the CPU. */
    public ModelSpec(
            String modelPath, InferenceDevice device, boolean deviceFallback, int intraOpThreads, int interOpThreads) {
        this(modelPath, device, deviceFallback, intraOpThreads, interOpThreads, false, 0, 0);
    }

    public ModelSpec {
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = ONNX Runtime's default), got intra-op "
                    + intraOpThreads + ", inter-op " + interOpThreads);
        }
        if (fixedBatchMax < 0 || fixedSamples < 0 || (fixedBatchMax == 0) != (fixedSamples == 0)) {
            throw new IllegalArgumentException("fixed shapes need both a batch size and a window length (or neither),"
                    + " got batch " + fixedBatchMax + ", samples " + fixedSamples);
        }
    }

    /** Whether calls on CUDA are padded to fixed shapes. */
    public boolean fixedShapes() {
        return fixedBatchMax > 0;
    }

    public boolean usesDefaultModel() {
        return modelPath == null;
    }

    @Override
    public String toString() {
        return (modelPath == null ? "<default model>" : modelPath) + " on " + device
                + (deviceFallback ? " (cpu fallback)" : "") + ", threads intra " + intraOpThreads + " inter "
                + interOpThreads + (spinWait ? ", spinning" : "");
    }
}
