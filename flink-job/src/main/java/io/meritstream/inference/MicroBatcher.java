package io.meritstream.inference;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Groups windows into model calls: a batch runs when {@code maxBatch} windows wait or the oldest has waited {@code
 * timeout}, whichever comes first. Windows of different lengths are zero-padded to the longest and each result is cut
 * back to its window's length. A batch whose call fails is run once more; if that fails too, every window in it fails
 * with an {@link InferenceFailedException} naming the cause, and the batcher goes on with the next batch. A call that
 * runs past its deadline is aborted (for models that can, see {@link WindowModel#run(float[][], ModelCall)}) and
 * counts as a failure, so it is retried once too.
 *
 * <p>One worker thread per batcher runs the calls, one at a time. It takes the next batch only when it is free, so under
 * load windows pile up while a call runs and the next call is full: the batch size adapts to the load, and the timeout
 * only matters when traffic is light. The number of waiting windows is bounded by the caller (Flink's async capacity).
 *
 * <p>Padding changes what a short window's pooled emotion output sees (zeros at the end); the windower emits windows of
 * one fixed length (a final partial window is zero-padded by the windower itself), so in the job padding does not
 * occur and results do not depend on what a window was batched with.
 */
public final class MicroBatcher implements AutoCloseable {
    /**
     * Stack of the thread that calls the model. ONNX Runtime's native model call overflowed a TaskManager's default 1 MB
     * thread stack (SIGSEGV without an hs_err file, seen on the standalone cluster), so the calling thread asks for its
     * own, independent of how the JVM was launched.
     */
    static final long MODEL_THREAD_STACK_BYTES = 16L << 20;

    /** Told about every model call; called on the worker thread. */
    public interface Listener {
        /** A call succeeded for {@code size} windows in {@code nanos}. */
        default void batchSucceeded(int size, long nanos) {}

        /** A call failed; {@code willRetry} is false on the second failure, after which the windows fail. */
        default void batchFailed(int size, Throwable cause, boolean willRetry) {}
    }

    private static final class Pending {
        final float[] samples;
        final SpeakerReferenceInputs.Row reference;
        final CompletableFuture<WindowInference> result = new CompletableFuture<>();
        final long enqueuedNanos;

        Pending(float[] samples, SpeakerReferenceInputs.Row reference, long enqueuedNanos) {
            this.samples = samples;
            this.reference = reference;
            this.enqueuedNanos = enqueuedNanos;
        }
    }

    private final WindowModel model;
    private final int maxBatch;
    private final long timeoutNanos;
    private final long callTimeoutMillis;
    private final Listener listener;
    /** Aborts calls past their deadline; null without a call timeout. */
    private final ScheduledExecutorService watchdog;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final AtomicInteger outstanding = new AtomicInteger();
    /** Written by the batching thread only; read by the callers' callbacks. */
    private volatile int failedInARow;

    private volatile boolean closed;
    /** The running model call, so that {@link #close} can abort it. */
    private volatile ModelCall currentCall;

    private final Thread worker;

    /**
     * @param maxBatch most windows per model call
     * @param timeoutMillis longest the oldest waiting window waits for its batch to fill
     * @param callTimeoutMillis deadline of one model call, after which it is aborted (if the model can abort) and
     *     counts as failed; 0 for none
     * @param threadName name of the worker thread (shows in thread dumps and profiles)
     */
    public MicroBatcher(
            WindowModel model,
            int maxBatch,
            long timeoutMillis,
            long callTimeoutMillis,
            Listener listener,
            String threadName) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        if (timeoutMillis < 0) {
            throw new IllegalArgumentException("timeoutMillis must be >= 0, got " + timeoutMillis);
        }
        if (callTimeoutMillis < 0) {
            throw new IllegalArgumentException("callTimeoutMillis must be >= 0 (0 = none), got " + callTimeoutMillis);
        }
        this.model = model;
        this.maxBatch = maxBatch;
        this.callTimeoutMillis = callTimeoutMillis;
        this.watchdog = callTimeoutMillis == 0
                ? null
                : Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, threadName + "-watchdog");
                    t.setDaemon(true);
                    return t;
                });
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        this.listener = listener == null ? new Listener() {} : listener;
        this.worker = new Thread(null, this::work, threadName, MODEL_THREAD_STACK_BYTES);
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /**
     * Queues one window. The future completes on the worker thread with the window's output, or exceptionally with an
     * {@link InferenceFailedException}. Completing the future from outside (e.g. on a timeout) withdraws the window if
     * its batch has not been formed yet.
     */
    public CompletableFuture<WindowInference> submit(float[] samples) {
        return submit(samples, SpeakerReferenceInputs.Row.NONE);
    }

    /** Queues one window with its speaker-reference row (used when the model takes the reference inputs). */
    public CompletableFuture<WindowInference> submit(float[] samples, SpeakerReferenceInputs.Row reference) {
        if (samples == null || samples.length == 0) {
            return CompletableFuture.failedFuture(new InferenceFailedException("window has no samples"));
        }
        Pending p = new Pending(samples, reference, System.nanoTime());
        lock.lock();
        try {
            if (closed) {
                return CompletableFuture.failedFuture(new InferenceFailedException("inference batcher is closed"));
            }
            pending.add(p);
            outstanding.incrementAndGet();
            p.result.whenComplete((r, t) -> outstanding.decrementAndGet());
            // Wake the worker when the first window arrives (it starts the timeout) or when a batch is full.
            if (pending.size() == 1 || pending.size() >= maxBatch) {
                changed.signal();
            }
        } finally {
            lock.unlock();
        }
        return p.result;
    }

    /** Windows submitted and not yet completed: waiting, or in the running call. */
    public int queueDepth() {
        return outstanding.get();
    }

    private void work() {
        while (true) {
            List<Pending> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                return;
            }
            if (batch == null) {
                return;
            }
            if (!batch.isEmpty()) {
                runWithRetry(batch);
            }
        }
    }

    /** Waits for a full batch or the oldest window's timeout; null once closed. */
    private List<Pending> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                if (closed) {
                    return null;
                }
                dropCompleted();
                if (pending.size() >= maxBatch) {
                    break;
                }
                if (pending.isEmpty()) {
                    changed.await();
                    continue;
                }
                long wait = pending.peek().enqueuedNanos + timeoutNanos - System.nanoTime();
                if (wait <= 0) {
                    break;
                }
                changed.awaitNanos(wait);
            }
            List<Pending> batch = new ArrayList<>(Math.min(maxBatch, pending.size()));
            while (batch.size() < maxBatch && !pending.isEmpty()) {
                batch.add(pending.poll());
            }
            return batch;
        } finally {
            lock.unlock();
        }
    }

    /** Batches in a row whose model call failed (after the retry); 0 after any batch that succeeds. */
    public int failedBatchesInARow() {
        return failedInARow;
    }

    /** Windows completed from outside (timed out) are not worth a slot in a batch. */
    private void dropCompleted() {
        pending.removeIf(p -> p.result.isDone());
    }

    private void runWithRetry(List<Pending> batch) {
        float[][] input = pad(batch);
        SpeakerReferenceInputs reference = model.usesSpeakerReference()
                ? SpeakerReferenceInputs.of(batch.stream().map(p -> p.reference).toList())
                : null;
        Throwable first = null;
        for (int attempt = 1; attempt <= 2; attempt++) {
            long start = System.nanoTime();
            BatchOutput out;
            ModelCall call = new ModelCall();
            currentCall = call;
            ScheduledFuture<?> deadline =
                    watchdog == null ? null : watchdog.schedule(call::abort, callTimeoutMillis, TimeUnit.MILLISECONDS);
            try {
                try {
                    out = reference == null ? model.run(input, call) : model.run(input, reference, call);
                } catch (Throwable t) {
                    if (call.aborted()) {
                        TimeoutException timeout = new TimeoutException(
                                "model call aborted after its deadline of " + callTimeoutMillis + " ms");
                        timeout.initCause(t);
                        throw timeout;
                    }
                    throw t;
                } finally {
                    call.finished();
                    currentCall = null;
                    if (deadline != null) {
                        deadline.cancel(false);
                    }
                }
                checkShapes(out, input);
            } catch (Throwable t) {
                if (t instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                boolean willRetry = attempt == 1 && !closed;
                listener.batchFailed(batch.size(), t, willRetry);
                if (willRetry) {
                    first = t;
                    continue;
                }
                String message = "inference failed " + attempt + (attempt == 1 ? " time" : " times")
                        + " for a batch of " + batch.size() + " windows: " + t;
                InferenceFailedException failure = new InferenceFailedException(message, t);
                if (first != null && first != t) {
                    failure.addSuppressed(first);
                }
                failedInARow++;
                batch.forEach(p -> p.result.completeExceptionally(failure));
                return;
            }
            failedInARow = 0;
            listener.batchSucceeded(batch.size(), System.nanoTime() - start);
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).result.complete(split(out, i, batch.get(i).samples.length));
            }
            return;
        }
    }

    private float[][] pad(List<Pending> batch) {
        int n = model.minSamples();
        for (Pending p : batch) {
            n = Math.max(n, p.samples.length);
        }
        float[][] input = new float[batch.size()][];
        for (int i = 0; i < batch.size(); i++) {
            float[] s = batch.get(i).samples;
            input[i] = s.length == n ? s : Arrays.copyOf(s, n);
        }
        return input;
    }

    private static void checkShapes(BatchOutput out, float[][] input) {
        int b = input.length;
        int n = input[0].length;
        if (out == null) {
            throw new IllegalStateException("model returned no output");
        }
        if (out.enhanced() == null || out.enhanced().length != b) {
            throw new IllegalStateException("model returned enhanced audio for "
                    + (out.enhanced() == null ? "no" : out.enhanced().length) + " windows, expected " + b);
        }
        if (out.isStreaming()) {
            // A streaming encoder's enhanced hop has its own length (H + X), the same for every row.
            checkRows("ser_frames", out.serFrames(), b);
            checkRows("frame_db", out.frameDb(), b);
        } else {
            if (out.emotionLogits() == null || out.emotionLogits().length != b) {
                throw new IllegalStateException("model returned emotion logits for "
                        + (out.emotionLogits() == null ? "no" : out.emotionLogits().length) + " windows, expected "
                        + b);
            }
            for (int i = 0; i < b; i++) {
                if (out.enhanced()[i].length != n) {
                    throw new IllegalStateException(
                            "model returned " + out.enhanced()[i].length + " enhanced samples for an input of " + n);
                }
            }
        }
        checkRouting("routing_se", out.routingSe(), b);
        checkRouting("routing_ser", out.routingSer(), b);
    }

    private static void checkRows(String name, float[][] rows, int b) {
        if (rows == null || rows.length != b) {
            throw new IllegalStateException("model returned " + name + " for " + (rows == null ? "no" : rows.length)
                    + " windows, expected " + b);
        }
    }

    private static void checkRouting(String name, long[][] routing, int b) {
        if (routing != null && routing.length != b) {
            throw new IllegalStateException(
                    "model returned " + name + " for " + routing.length + " windows, expected " + b);
        }
    }

    private WindowInference split(BatchOutput out, int i, int length) {
        if (out.isStreaming()) {
            // Every row is the hop's own: no padding to cut, and the model's row arrays are not shared.
            return new WindowInference(
                    out.enhanced()[i],
                    null,
                    out.routingSe()[i],
                    out.routingSer()[i],
                    out.serFrames()[i],
                    out.frameDb()[i]);
        }
        int frames = model.frameCount(length);
        float[] enhanced = out.enhanced()[i];
        return new WindowInference(
                enhanced.length == length ? enhanced : Arrays.copyOf(enhanced, length),
                out.emotionLogits()[i].clone(),
                trim(out.routingSe(), i, frames),
                trim(out.routingSer(), i, frames));
    }

    private static long[] trim(long[][] routing, int i, int frames) {
        return routing == null ? null : Arrays.copyOf(routing[i], Math.min(frames, routing[i].length));
    }

    /**
     * Fails every window still waiting, aborts the running call (if the model can abort) and stops the worker. Does not
     * close the model (the registry owns it).
     */
    @Override
    public void close() throws InterruptedException {
        List<Pending> left;
        lock.lock();
        try {
            closed = true;
            left = new ArrayList<>(pending);
            pending.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        InferenceFailedException failure =
                new InferenceFailedException("inference operator closed before the window ran");
        left.forEach(p -> p.result.completeExceptionally(failure));
        // Do not keep a closing task waiting for a long call; its windows fail and are not retried (closed is set).
        ModelCall running = currentCall;
        if (running != null) {
            running.abort();
        }
        worker.join(TimeUnit.SECONDS.toMillis(30));
        if (watchdog != null) {
            watchdog.shutdownNow();
        }
    }
}
