package io.meritstream.inference;

import java.io.Serializable;

/**
 * Validated inference settings, as {@code io.meritstream.inference.InferenceOptions#settings} reads them from the job
 * configuration. Serializable: it travels with the inference function.
 *
 * @param model which model session to use
 * @param batchMax most windows per model call
 * @param batchTimeoutMs longest a window waits for its batch to fill before a smaller batch runs
 * @param callTimeoutMs deadline of one model call: past it the call is aborted and retried once; 0 for none
 * @param asyncCapacity most windows in flight per subtask (waiting or running); beyond it the operator back-pressures
 * @param asyncTimeoutMs longest a window may take from arrival at the operator to its result; then it fails
 */
public record InferenceSettings(
        ModelSpec model,
        int batchMax,
        long batchTimeoutMs,
        long callTimeoutMs,
        int asyncCapacity,
        long asyncTimeoutMs,
        int failAfterFailedBatches)
        implements Serializable {

    /** The default of {@code failAfterFailedBatches}: the job fails after this many model batches in a row failed. */
    public static final int DEFAULT_FAIL_AFTER_FAILED_BATCHES = 10;

    /**
     * Settings without a model-call deadline (windows still time out after {@code asyncTimeoutMs}) and with the default
     * failure limit.
     */
    public InferenceSettings(
            ModelSpec model, int batchMax, long batchTimeoutMs, int asyncCapacity, long asyncTimeoutMs) {
        this(model, batchMax, batchTimeoutMs, 0, asyncCapacity, asyncTimeoutMs, DEFAULT_FAIL_AFTER_FAILED_BATCHES);
    }

    public InferenceSettings {
        if (model == null) {
            throw new IllegalArgumentException("model spec must not be null");
        }
        if (batchMax < 1) {
            throw new IllegalArgumentException("batchMax must be >= 1, got " + batchMax);
        }
        if (batchTimeoutMs < 0) {
            throw new IllegalArgumentException("batchTimeoutMs must be >= 0, got " + batchTimeoutMs);
        }
        if (failAfterFailedBatches < 0) {
            throw new IllegalArgumentException(
                    "failAfterFailedBatches must be >= 0 (0 = never), got " + failAfterFailedBatches);
        }
        if (callTimeoutMs < 0) {
            throw new IllegalArgumentException("callTimeoutMs must be >= 0 (0 = none), got " + callTimeoutMs);
        }
        if (asyncCapacity < batchMax) {
            throw new IllegalArgumentException(
                    "asyncCapacity (" + asyncCapacity + ") must be >= batchMax (" + batchMax + ")");
        }
        if (asyncTimeoutMs < 1) {
            throw new IllegalArgumentException("asyncTimeoutMs must be >= 1, got " + asyncTimeoutMs);
        }
    }
}
