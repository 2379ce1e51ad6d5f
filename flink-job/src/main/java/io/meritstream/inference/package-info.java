/**
 * Inference: the Sparse MERIT model in ONNX Runtime, behind an async operator that micro-batches windows.
 *
 * <h2>Wiring</h2>
 *
 * <pre>{@code
 * InferenceSettings settings = InferenceOptions.settings(jobConfiguration); // fails fast on bad options
 * DataStream<WindowResult> results = Inference.apply(windowRequests, settings); // name "infer", uid "inference"
 * }</pre>
 *
 * One {@link io.meritstream.inference.WindowResult} leaves per {@link io.meritstream.session.WindowRequest}, unordered
 * (analytics reorders by window index per channel). The options are {@link io.meritstream.inference.InferenceOptions}.
 * Tests and benchmarks pass their own {@link io.meritstream.inference.ModelLoader} to {@code Inference.apply}.
 *
 * <h2>How a window is processed</h2>
 *
 * <ol>
 *   <li>{@link io.meritstream.inference.InferenceFunction} (Flink async I/O, capacity {@code inference.async.capacity})
 *       hands the window to its subtask's {@link io.meritstream.inference.MicroBatcher}. A full capacity stops the
 *       operator taking input: a slow model back-pressures Kafka instead of growing memory.
 *   <li>The batcher's worker runs a batch when {@code inference.batch.max} windows wait or the oldest has waited
 *       {@code inference.batch.timeout-ms}; windows are zero-padded to the longest and the outputs cut back per window
 *       (routing of padding-only frames dropped).
 *   <li>A call that throws, returns malformed output or runs past {@code inference.batch.call-timeout-ms} (aborted
 *       through ONNX Runtime's terminate flag) is run once more; if that fails too, its windows become results with
 *       {@code failure} set. A window not done within {@code inference.async.timeout-ms} becomes a failed result too.
 *       Inference problems never fail the job.
 *   <li>Emotion logits become softmax probabilities; per-frame routing becomes frames per expert for each task.
 * </ol>
 *
 * <h2>Model session</h2>
 *
 * {@link io.meritstream.inference.SharedModelRegistry} holds one session per TaskManager JVM and
 * {@link io.meritstream.inference.ModelSpec} (model path, device, threads), reference-counted by the subtasks' {@code
 * open}/{@code close}. {@link io.meritstream.inference.OrtModelLoader} opens {@link
 * io.meritstream.inference.MeritModel} by path or, without {@code inference.model.path}, the default model on the
 * classpath ({@code /models/merit-sparse.onnx} and {@code .json}). {@code inference.device = cuda[:N]} needs the job
 * built with {@code -Pgpu} (onnxruntime_gpu); without a usable CUDA device the job fails at start-up unless {@code
 * inference.device-fallback} is true.
 *
 * <p>Deployment: ONNX Runtime's native library can be loaded by one class loader per JVM only. In a session cluster,
 * load it parent-first ({@code classloader.parent-first-patterns.additional: ai.onnxruntime}, with the onnxruntime jar
 * on the cluster's classpath) so that job restarts and resubmissions keep working.
 *
 * <h2>Metrics</h2>
 *
 * Names in {@link io.meritstream.metrics.MetricNames}: {@code inferenceLatencyMs} (per call), {@code
 * inferenceWindowLatencyMs}, {@code inferenceBatchSize} (histograms), {@code inferenceQueueDepth}, {@code
 * inferenceWindowsPerSecond}, {@code inferenceFailedWindows}, {@code inferenceBatchFailures}, {@code modelInfo} under
 * the {@code model_version} label, and {@code expertUtilisation} / {@code expertRoutedFrames} under {@code task} (se,
 * ser) and {@code expert} (0 .. experts - 1) labels.
 */
package io.meritstream.inference;
