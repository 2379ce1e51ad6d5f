package io.meritstream.inference;

import io.meritstream.session.WindowRequest;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the model on windows: the async function of the inference operator (see {@link Inference#apply}).
 *
 * <p>Each subtask leases the TaskManager's shared model session from {@link SharedModelRegistry} in {@link #open} and
 * feeds it through its own {@link MicroBatcher} (on a GPU, through the batcher all subtasks of the TaskManager share,
 * {@link SharedModelRegistry.Lease#sharedBatcher}, whose queue-depth gauge every subtask then reports); Flink's async capacity bounds the windows in flight, so a slow model
 * back-pressures the source. Every window yields exactly one {@link WindowResult}: with the model's outputs, or with
 * {@link WindowResult#failure} set when its batch failed twice, it timed out or the outputs were unusable. Inference
 * problems never fail the job; a model that cannot be loaded does, at start-up.
 */
public class InferenceFunction extends RichAsyncFunction<WindowRequest, WindowResult> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(InferenceFunction.class);

    /** The class order of {@link WindowResult#emotionProbabilities}, which analytics relies on. */
    static final List<String> CLASSES = List.of("angry", "sad", "happy", "neutral");

    private final InferenceSettings settings;
    private final ModelLoader loader;

    private transient SharedModelRegistry.Lease lease;
    private transient WindowModel model;
    private transient MicroBatcher batcher;
    /** Whether {@link #batcher} is the TaskManager's shared one (on a GPU), which this subtask must not close. */
    private transient boolean sharedBatcher;

    private transient InferenceMetrics metrics;
    /** Windows in the batcher, by identity, so that {@link #timeout} can withdraw them; touched by two threads. */
    private transient Map<WindowRequest, CompletableFuture<WindowInference>> inFlight;
    /** Failed windows so far, for sampling the log; racy across threads, which only changes what gets logged. */
    private transient long failuresLogged;

    public InferenceFunction(InferenceSettings settings, ModelLoader loader) {
        this.settings = settings;
        this.loader = loader;
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        lease = SharedModelRegistry.shared().acquire(settings.model(), loader);
        try {
            model = lease.model();
            if (!model.classes().equals(CLASSES)) {
                throw new IllegalStateException("Model " + model.version() + " has emotion classes " + model.classes()
                        + " but the job expects " + CLASSES + " in that order");
            }
            int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            metrics = new InferenceMetrics(
                    getRuntimeContext().getMetricGroup(),
                    model.version(),
                    model.expertCount(),
                    () -> batcher == null ? 0 : batcher.queueDepth());
            inFlight = Collections.synchronizedMap(new IdentityHashMap<>());
            // A GPU gets one stream of full batches from all slots of the TaskManager; CPU subtasks batch on their own,
            // so that one slot's backlog does not delay another's windows behind it.
            sharedBatcher = settings.model().device().isCuda();
            batcher = sharedBatcher
                    ? lease.sharedBatcher(settings, metrics)
                    : new MicroBatcher(
                            model,
                            settings.batchMax(),
                            settings.batchTimeoutMs(),
                            settings.callTimeoutMs(),
                            metrics,
                            "merit-inference-" + subtask);
            LOG.info(
                    "Inference subtask {} uses {} (batches of up to {}, {} ms timeout, {} in flight)",
                    subtask,
                    model,
                    settings.batchMax(),
                    settings.batchTimeoutMs(),
                    settings.asyncCapacity());
        } catch (Exception | Error e) {
            lease.close();
            lease = null;
            throw e;
        }
    }

    @Override
    public void asyncInvoke(WindowRequest request, ResultFuture<WindowResult> resultFuture) {
        long start = System.nanoTime();
        CompletableFuture<WindowInference> future = batcher.submit(
                request.samples,
                new SpeakerReferenceInputs.Row(request.prosody, request.speakerRef, request.speakerRefWeight));
        inFlight.put(request, future);
        future.whenComplete((inference, error) -> {
            inFlight.remove(request);
            int failedInARow = batcher.failedBatchesInARow();
            int limit = settings.failAfterFailedBatches();
            if (error != null && limit > 0 && failedInARow >= limit) {
                // Flink's async operator fails the job with this: the restart strategy decides what comes next.
                resultFuture.completeExceptionally(new InferenceFailedException(
                        failedInARow + " model batches in a row failed (limit " + limit + ", option"
                                + " 'inference.fail-after-failed-batches'): the model cannot run here; last error: "
                                + rootMessage(error),
                        error));
                return;
            }
            WindowResult result = error == null ? convert(request, inference) : failed(request, error);
            metrics.windowDone(System.nanoTime() - start, result.failed());
            resultFuture.complete(Collections.singletonList(result));
        });
    }

    /**
     * Flink calls this when a window has been in the operator for {@code inference.async.timeout-ms}. Throwing here
     * would fail the job, so the window becomes a failed result instead: completing its future withdraws it from the
     * batcher (if its batch has not formed yet) and emits the failed result through {@link #asyncInvoke}'s callback.
     */
    @Override
    public void timeout(WindowRequest request, ResultFuture<WindowResult> resultFuture) {
        InferenceFailedException timedOut = new InferenceFailedException(
                "inference timed out after " + settings.asyncTimeoutMs() + " ms (option 'inference.async.timeout-ms')");
        CompletableFuture<WindowInference> future = inFlight.get(request);
        if (future == null || !future.completeExceptionally(timedOut)) {
            // Its result is being delivered right now; Flink keeps the first completion and ignores this one.
            resultFuture.complete(Collections.singletonList(failed(request, timedOut)));
        }
    }

    private WindowResult convert(WindowRequest request, WindowInference inference) {
        WindowResult r = base(request);
        try {
            int[] se = ModelOutputs.histogram(inference.routingSe(), model.expertCount());
            int[] ser = ModelOutputs.histogram(inference.routingSer(), model.expertCount());
            r.enhanced = inference.enhanced();
            ModelCard.Streaming streaming = model.streaming();
            if (streaming == null) {
                r.emotionProbabilities = ModelOutputs.softmax(inference.emotionLogits());
                r.enhancedStartSample = r.startSample;
            } else {
                // Analytics pools the hop's SER features with the window's earlier hops (StreamingClassifier), and
                // the speaker reference goes there with them.
                r.serFrames = inference.serFrames();
                r.frameDb = inference.frameDb();
                r.enhancedStartSample =
                        r.startSample + r.windowSamples - streaming.lookaheadSamples() - inference.enhanced().length;
                r.prosody = request.prosody;
                r.speakerRef = request.speakerRef;
                r.speakerRefWeight = request.speakerRefWeight;
            }
            r.routingSe = se;
            r.routingSer = ser;
            metrics.routing(se, ser);
        } catch (RuntimeException e) {
            return failed(request, e);
        }
        return r;
    }

    private static String rootMessage(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        return cause instanceof InferenceFailedException ? cause.getMessage() : cause.toString();
    }

    private WindowResult failed(WindowRequest request, Throwable error) {
        WindowResult r = base(request);
        r.failure = rootMessage(error);
        // A broken model fails every window: log the first failures and then a sample, not 50 lines a second.
        long n = failuresLogged++;
        if (n < 10 || n % 1000 == 0) {
            LOG.warn("Inference failed for window {} (failure {} of this subtask): {}", request, n + 1, r.failure);
        }
        return r;
    }

    private WindowResult base(WindowRequest request) {
        WindowResult r = new WindowResult();
        r.sessionId = request.sessionId;
        r.channel = request.channel;
        r.windowIndex = request.windowIndex;
        r.startSample = request.startSample;
        r.windowSamples = request.samples == null ? 0 : request.chunkOffset + request.samples.length;
        r.hopSamples = request.hopSamples;
        r.validSamples = request.validSamples;
        r.finalWindow = request.finalWindow;
        r.flags = request.flags;
        r.lastArrivalMs = request.lastArrivalMs;
        r.referenceSpeechSeconds = request.referenceSpeechSeconds;
        r.modelVersion = model.version();
        return r;
    }

    /** For tests: windows that failed for good since open. */
    long failedWindows() {
        return metrics.failedWindows();
    }

    @Override
    public void close() throws Exception {
        try {
            if (batcher != null && sharedBatcher) {
                // The other subtasks go on using it: withdraw only this subtask's windows.
                InferenceFailedException closed =
                        new InferenceFailedException("inference operator closed before the window ran");
                List<CompletableFuture<WindowInference>> own;
                synchronized (inFlight) {
                    own = List.copyOf(inFlight.values());
                }
                own.forEach(f -> f.completeExceptionally(closed));
            } else if (batcher != null) {
                batcher.close();
            }
        } finally {
            batcher = null;
            if (lease != null) {
                lease.close();
                lease = null;
            }
        }
    }
}
