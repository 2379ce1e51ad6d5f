package io.meritstream.inference;

import io.meritstream.session.WindowingConfig;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;

/** Options of the inference operator: which model, where it runs, how windows are batched and how long they may take. */
public final class InferenceOptions {
    private InferenceOptions() {}

    public static final ConfigOption<String> MODEL_PATH = ConfigOptions.key("inference.model.path")
            .stringType()
            .noDefaultValue()
            .withDescription("Path of the exported model (.onnx) on every TaskManager; its model card (the .json of the"
                    + " same name) must lie beside it. Unset: the default model packaged with the job"
                    + " (classpath resource /models/merit-sparse.onnx).");

    public static final ConfigOption<String> DEVICE = ConfigOptions.key("inference.device")
            .stringType()
            .defaultValue("cpu")
            .withDescription(
                    "Where ONNX Runtime runs the model: 'cpu', or 'cuda' / 'cuda:N' for CUDA device N. CUDA needs"
                            + " the job built with the Maven profile -Pgpu (onnxruntime_gpu) and a GPU with CUDA 12 and cuDNN 9"
                            + " on the TaskManager; without them the job fails at start-up unless inference.device-fallback"
                            + " is true.");

    public static final ConfigOption<Boolean> DEVICE_FALLBACK = ConfigOptions.key("inference.device-fallback")
            .booleanType()
            .defaultValue(false)
            .withDescription("When CUDA is asked for but not available: true runs on the CPU and logs a warning; false"
                    + " fails at start-up.");

    public static final ConfigOption<Integer> INTRA_OP_THREADS = ConfigOptions.key("inference.threads.intra-op")
            .intType()
            .defaultValue(0)
            .withDescription("ONNX Runtime threads that split one operator (matrix multiply, convolution) of the shared"
                    + " model session; 0 lets ONNX Runtime choose (one per physical core). The session is shared by"
                    + " all inference subtasks of a TaskManager, so this is per TaskManager, not per slot.");

    public static final ConfigOption<Integer> INTER_OP_THREADS = ConfigOptions.key("inference.threads.inter-op")
            .intType()
            .defaultValue(0)
            .withDescription("ONNX Runtime threads that run independent operators of the graph in parallel; 0 lets ONNX"
                    + " Runtime choose.");

    public static final ConfigOption<Boolean> SPIN_WAIT = ConfigOptions.key("inference.threads.spin-wait")
            .booleanType()
            .defaultValue(false)
            .withDescription("Whether ONNX Runtime's threads spin, waiting for work, between the parallel parts of a"
                    + " model call (ONNX Runtime's own default) instead of sleeping. Spinning makes back-to-back calls a little"
                    + " faster (raw model at batch 8: 76 instead of 87 ms) but burns the cores the rest of the job"
                    + " needs between calls: measured with 'merit bench' on 2 cores, the job then used 1.9 instead of"
                    + " 1.45 of the 2 cores for the same 32 to 48 real-time channels, with the same capacity within"
                    + " the run-to-run noise (54 to 59 windows/s). Turn it on for a machine given to inference"
                    + " alone.");

    public static final ConfigOption<Integer> BATCH_MAX = ConfigOptions.key("inference.batch.max")
            .intType()
            .defaultValue(8)
            .withDescription("Most windows per model call. Under load calls fill up to this; larger batches raise"
                    + " throughput and each window's latency.");

    public static final ConfigOption<Long> BATCH_TIMEOUT_MS = ConfigOptions.key("inference.batch.timeout-ms")
            .longType()
            .defaultValue(50L)
            .withDescription("Longest a window waits, in milliseconds, for its batch to fill before a smaller batch"
                    + " runs; 0 runs whatever is waiting at once.");

    public static final ConfigOption<Long> CALL_TIMEOUT_MS = ConfigOptions.key("inference.batch.call-timeout-ms")
            .longType()
            .defaultValue(10_000L)
            .withDescription("Deadline of one model call, in milliseconds. A call past it is aborted (ONNX Runtime's"
                    + " terminate flag) and retried once, like a call that failed; if the retry fails too, the batch's"
                    + " windows become failed-window results. 0 disables the deadline. Must be less than"
                    + " inference.async.timeout-ms.");

    public static final ConfigOption<Integer> ASYNC_CAPACITY = ConfigOptions.key("inference.async.capacity")
            .intType()
            .defaultValue(64)
            .withDescription("Most windows in flight per inference subtask (waiting for a batch or running). When it is"
                    + " reached the operator stops taking input, which back-pressures the Kafka source instead of"
                    + " growing memory. Must be at least inference.batch.max.");

    public static final ConfigOption<Long> ASYNC_TIMEOUT_MS = ConfigOptions.key("inference.async.timeout-ms")
            .longType()
            .defaultValue(30_000L)
            .withDescription("Longest a window may take from entering the inference operator to its result, in"
                    + " milliseconds. A window past it becomes a failed-window result (the job goes on).");

    public static final ConfigOption<Integer> FAIL_AFTER_FAILED_BATCHES = ConfigOptions.key(
                    "inference.fail-after-failed-batches")
            .intType()
            .defaultValue(InferenceSettings.DEFAULT_FAIL_AFTER_FAILED_BATCHES)
            .withDescription("The job fails (and Flink's restart strategy takes over) when this many model batches in"
                    + " a row have failed, each after its retry: a model that cannot run at all (a sticky CUDA error,"
                    + " a broken file) must not turn every call into silence with no events. Single failures still"
                    + " become failed-window results. 0: never fail the job.");

    /**
     * Reads and validates the inference options.
     *
     * @throws IllegalArgumentException naming the offending option, its value and what is allowed
     */
    public static InferenceSettings settings(ReadableConfig conf) {
        String path = conf.getOptional(MODEL_PATH).map(String::trim).orElse("");
        InferenceDevice device = InferenceDevice.parse(DEVICE.key(), conf.get(DEVICE));
        int intra = conf.get(INTRA_OP_THREADS);
        int inter = conf.get(INTER_OP_THREADS);
        requireAtLeast(INTRA_OP_THREADS, intra, 0, " (0 = ONNX Runtime's default)");
        requireAtLeast(INTER_OP_THREADS, inter, 0, " (0 = ONNX Runtime's default)");
        int batchMax = conf.get(BATCH_MAX);
        requireAtLeast(BATCH_MAX, batchMax, 1, "");
        long batchTimeout = conf.get(BATCH_TIMEOUT_MS);
        requireAtLeast(BATCH_TIMEOUT_MS, batchTimeout, 0, "");
        long callTimeout = conf.get(CALL_TIMEOUT_MS);
        requireAtLeast(CALL_TIMEOUT_MS, callTimeout, 0, " (0 = no deadline)");
        int capacity = conf.get(ASYNC_CAPACITY);
        if (capacity < batchMax) {
            throw new IllegalArgumentException("Option '" + ASYNC_CAPACITY.key() + "' must be at least '"
                    + BATCH_MAX.key() + "' (" + batchMax + ") so that a batch can fill, got " + capacity);
        }
        long asyncTimeout = conf.get(ASYNC_TIMEOUT_MS);
        requireAtLeast(ASYNC_TIMEOUT_MS, asyncTimeout, 1, "");
        if (asyncTimeout <= batchTimeout) {
            throw new IllegalArgumentException("Option '" + ASYNC_TIMEOUT_MS.key() + "' (" + asyncTimeout
                    + " ms) must be larger than '" + BATCH_TIMEOUT_MS.key() + "' (" + batchTimeout
                    + " ms), or windows would time out while waiting for their batch");
        }
        if (callTimeout >= asyncTimeout) {
            throw new IllegalArgumentException("Option '" + CALL_TIMEOUT_MS.key() + "' (" + callTimeout
                    + " ms) must be less than '" + ASYNC_TIMEOUT_MS.key() + "' (" + asyncTimeout
                    + " ms), or windows would time out before a slow call is aborted and retried");
        }
        // On a GPU every call gets one of a few fixed shapes, warmed up at load (FixedShapeModel): the batch sizes up
        // to
        // batch.max and the job's window length.
        int windowSamples = WindowingConfig.fromConfiguration(conf).windowSamples();
        ModelSpec model = new ModelSpec(
                path.isEmpty() ? null : path,
                device,
                conf.get(DEVICE_FALLBACK),
                intra,
                inter,
                conf.get(SPIN_WAIT),
                device.isCuda() ? batchMax : 0,
                device.isCuda() ? windowSamples : 0);
        int failAfter = conf.get(FAIL_AFTER_FAILED_BATCHES);
        requireAtLeast(FAIL_AFTER_FAILED_BATCHES, failAfter, 0, " (0 = never)");
        return new InferenceSettings(model, batchMax, batchTimeout, callTimeout, capacity, asyncTimeout, failAfter);
    }

    private static void requireAtLeast(ConfigOption<?> option, long value, long min, String note) {
        if (value < min) {
            throw new IllegalArgumentException(
                    "Option '" + option.key() + "' must be >= " + min + note + ", got " + value);
        }
    }
}
