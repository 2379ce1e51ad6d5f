package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MicroBatcherTest {
    /** Long enough that only a full batch can trigger a call. */
    private static final long NEVER_MS = TimeUnit.HOURS.toMillis(1);

    private final List<MicroBatcher> batchers = new ArrayList<>();
    private final List<String> events = new CopyOnWriteArrayList<>();

    private final MicroBatcher.Listener listener = new MicroBatcher.Listener() {
        @Override
        public void batchSucceeded(int size, long nanos) {
            events.add("ok " + size);
        }

        @Override
        public void batchFailed(int size, Throwable cause, boolean willRetry) {
            events.add("failed " + size + (willRetry ? " retry" : " final"));
        }
    };

    private MicroBatcher batcher(WindowModel model, int max, long timeoutMs) {
        return batcher(model, max, timeoutMs, 0);
    }

    private MicroBatcher batcher(WindowModel model, int max, long timeoutMs, long callTimeoutMs) {
        MicroBatcher b = new MicroBatcher(model, max, timeoutMs, callTimeoutMs, listener, "test-batcher");
        batchers.add(b);
        return b;
    }

    @AfterEach
    void close() throws Exception {
        for (MicroBatcher b : batchers) {
            b.close();
        }
    }

    private static float[] window(float value, int length) {
        float[] w = new float[length];
        Arrays.fill(w, value);
        return w;
    }

    private static WindowInference get(CompletableFuture<WindowInference> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    @Test
    void fullBatchRunsAtOnceWithoutWaitingForTheTimeout() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        MicroBatcher b = batcher(model, 4, NEVER_MS);
        List<CompletableFuture<WindowInference>> results = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            results.add(b.submit(window(i, 1600)));
        }
        for (CompletableFuture<WindowInference> r : results) {
            get(r);
        }
        assertThat(model.batchSizes()).containsExactly(4);
        assertThat(events).containsExactly("ok 4");
    }

    @Test
    void partialBatchRunsWhenTheOldestWindowHasWaitedTheTimeout() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        MicroBatcher b = batcher(model, 8, 200);
        long start = System.nanoTime();
        List<CompletableFuture<WindowInference>> results =
                List.of(b.submit(window(1, 800)), b.submit(window(2, 800)), b.submit(window(3, 800)));
        for (CompletableFuture<WindowInference> r : results) {
            get(r);
        }
        // A lower bound only: the batch must not have run before the timeout.
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
        assertThat(model.batchSizes()).containsExactly(3);
    }

    @Test
    void windowsAreBatchedInArrivalOrderAndEachGetsItsOwnResult() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        MicroBatcher b = batcher(model, 3, 100);
        List<CompletableFuture<WindowInference>> results = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            results.add(b.submit(window(i + 1, 1200)));
        }
        for (int i = 0; i < 7; i++) {
            WindowInference r = get(results.get(i));
            assertThat(r.enhanced()).containsOnly(2f * (i + 1)).hasSize(1200);
            assertThat(r.emotionLogits()).containsExactly(i + 1, 0, 0, 0);
        }
        assertThat(model.batchSizes()).containsExactly(3, 3, 1);
        List<Float> order = new ArrayList<>();
        for (float[][] batch : model.batches) {
            for (float[] row : batch) {
                order.add(row[0]);
            }
        }
        assertThat(order).containsExactly(1f, 2f, 3f, 4f, 5f, 6f, 7f);
    }

    @Test
    void windowsOfDifferentLengthsArePaddedWithZerosAndCutBack() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        MicroBatcher b = batcher(model, 3, NEVER_MS);
        CompletableFuture<WindowInference> shortOne = b.submit(window(1, 1000));
        CompletableFuture<WindowInference> longOne = b.submit(window(2, 16000));
        CompletableFuture<WindowInference> tiny = b.submit(window(3, 300));

        WindowInference s = get(shortOne);
        WindowInference l = get(longOne);
        WindowInference t = get(tiny);

        float[][] batch = model.batches.get(0);
        assertThat(batch).hasDimensions(3, 16000);
        assertThat(Arrays.copyOfRange(batch[0], 0, 1000)).containsOnly(1f);
        assertThat(Arrays.copyOfRange(batch[0], 1000, 16000)).containsOnly(0f);
        assertThat(Arrays.copyOfRange(batch[2], 300, 16000)).containsOnly(0f);

        assertThat(s.enhanced()).hasSize(1000).containsOnly(2f);
        assertThat(l.enhanced()).hasSize(16000).containsOnly(4f);
        assertThat(t.enhanced()).hasSize(300).containsOnly(6f);
        // Routing of frames that only padding fed is dropped: (1000 - 400) / 320 + 1 = 2 frames, 16000 -> 49, 300 -> 0.
        assertThat(s.routingSe()).containsExactly(0, 1);
        assertThat(s.routingSer()).containsExactly(1, 2);
        assertThat(l.routingSe()).hasSize(49);
        assertThat(t.routingSe()).isEmpty();
    }

    @Test
    void windowsShorterThanTheModelMinimumArePaddedToIt() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        MicroBatcher b = batcher(model, 1, NEVER_MS);
        WindowInference r = get(b.submit(window(5, 100)));
        assertThat(model.batches.get(0)[0]).hasSize(400);
        assertThat(r.enhanced()).hasSize(100).containsOnly(10f);
    }

    @Test
    void aFailedBatchIsRetriedOnceWithTheSameInput() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        model.failNextCalls.set(1);
        MicroBatcher b = batcher(model, 2, NEVER_MS);
        CompletableFuture<WindowInference> r1 = b.submit(window(1, 800));
        CompletableFuture<WindowInference> r2 = b.submit(window(2, 800));
        assertThat(get(r1).emotionLogits()[0]).isEqualTo(1f);
        assertThat(get(r2).emotionLogits()[0]).isEqualTo(2f);
        assertThat(model.batchSizes()).containsExactly(2, 2);
        assertThat(model.batches.get(1)).isDeepEqualTo(model.batches.get(0));
        assertThat(events).containsExactly("failed 2 retry", "ok 2");
    }

    @Test
    void aBatchThatFailsTwiceFailsItsWindowsAndTheNextBatchRuns() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        model.failNextCalls.set(2);
        MicroBatcher b = batcher(model, 2, NEVER_MS);
        CompletableFuture<WindowInference> r1 = b.submit(window(1, 800));
        CompletableFuture<WindowInference> r2 = b.submit(window(2, 800));
        for (CompletableFuture<WindowInference> r : List.of(r1, r2)) {
            assertThatThrownBy(() -> get(r))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(InferenceFailedException.class)
                    .hasMessageContaining("inference failed 2 times for a batch of 2 windows")
                    .hasMessageContaining("fake model failure");
        }
        CompletableFuture<WindowInference> r3 = b.submit(window(3, 800));
        CompletableFuture<WindowInference> r4 = b.submit(window(4, 800));
        assertThat(get(r3).emotionLogits()[0]).isEqualTo(3f);
        assertThat(get(r4).emotionLogits()[0]).isEqualTo(4f);
        assertThat(events).containsExactly("failed 2 retry", "failed 2 final", "ok 2");
    }

    @Test
    void malformedModelOutputCountsAsAFailure() throws Exception {
        FakeWindowModel model = new FakeWindowModel() {
            @Override
            public BatchOutput run(float[][] batch) throws Exception {
                BatchOutput out = super.run(batch);
                return new BatchOutput(out.enhanced(), new float[0][], out.routingSe(), out.routingSer());
            }
        };
        MicroBatcher b = batcher(model, 1, NEVER_MS);
        assertThatThrownBy(() -> get(b.submit(window(1, 800))))
                .cause()
                .isInstanceOf(InferenceFailedException.class)
                .hasMessageContaining("emotion logits for 0 windows, expected 1");
        assertThat(model.batchSizes()).containsExactly(1, 1);
    }

    @Test
    void aWindowCompletedFromOutsideIsLeftOutOfItsBatch() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        MicroBatcher b = batcher(model, 3, 300);
        CompletableFuture<WindowInference> timedOut = b.submit(window(1, 800));
        CompletableFuture<WindowInference> r2 = b.submit(window(2, 800));
        timedOut.completeExceptionally(new InferenceFailedException("timed out"));
        CompletableFuture<WindowInference> r3 = b.submit(window(3, 800));
        get(r2);
        get(r3);
        assertThat(model.batchSizes()).containsExactly(2);
        assertThat(model.batches.get(0)[0][0]).isEqualTo(2f);
    }

    @Test
    void queueDepthCountsWaitingAndRunningWindows() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        FakeWindowModel model = new FakeWindowModel() {
            @Override
            void beforeRun(float[][] batch) throws Exception {
                running.countDown();
                release.await();
            }
        };
        MicroBatcher b = batcher(model, 2, NEVER_MS);
        List<CompletableFuture<WindowInference>> results = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            results.add(b.submit(window(i, 800)));
        }
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(b.queueDepth()).isEqualTo(5);
        release.countDown();
        for (int i = 0; i < 4; i++) {
            get(results.get(i));
        }
        // The fifth waits for a partner that never comes (timeout = 1 h). The count drops in a completion callback
        // on the worker thread, which may run just after get() returns.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (b.queueDepth() != 1 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(b.queueDepth()).isEqualTo(1);
        assertThat(model.batchSizes()).containsExactly(2, 2);
    }

    @Test
    void closeFailsWaitingWindowsAndRefusesNewOnes() throws Exception {
        FakeWindowModel model = new FakeWindowModel();
        MicroBatcher b = batcher(model, 4, NEVER_MS);
        CompletableFuture<WindowInference> waiting = b.submit(window(1, 800));
        b.close();
        assertThatThrownBy(() -> get(waiting)).cause().hasMessageContaining("closed before the window ran");
        assertThatThrownBy(() -> get(b.submit(window(2, 800)))).cause().hasMessageContaining("batcher is closed");
        assertThat(model.batches).isEmpty();
        assertThat(model.closed).as("the batcher does not own the model").isFalse();
    }

    @Test
    void anEmptyWindowFailsAtOnce() {
        MicroBatcher b = batcher(new FakeWindowModel(), 4, NEVER_MS);
        assertThatThrownBy(() -> get(b.submit(new float[0])))
                .cause()
                .isInstanceOf(InferenceFailedException.class)
                .hasMessage("window has no samples");
    }

    @Test
    void rejectsInvalidSettings() {
        assertThatThrownBy(() -> new MicroBatcher(new FakeWindowModel(), 0, 10, 0, null, "x"))
                .hasMessage("maxBatch must be >= 1, got 0");
        assertThatThrownBy(() -> new MicroBatcher(new FakeWindowModel(), 1, -1, 0, null, "x"))
                .hasMessage("timeoutMillis must be >= 0, got -1");
        assertThatThrownBy(() -> new MicroBatcher(new FakeWindowModel(), 1, 0, -1, null, "x"))
                .hasMessage("callTimeoutMillis must be >= 0 (0 = none), got -1");
    }

    /** A model whose first {@code hangs} calls run until the batcher aborts them, then throw as ONNX Runtime does. */
    static final class HangingModel extends FakeWindowModel {
        final AtomicInteger hangs;

        HangingModel(int hangs) {
            this.hangs = new AtomicInteger(hangs);
        }

        @Override
        public BatchOutput run(float[][] batch, ModelCall call) throws Exception {
            if (hangs.getAndDecrement() <= 0) {
                call.finished();
                return run(batch);
            }
            batches.add(batch);
            CountDownLatch aborted = new CountDownLatch(1);
            call.onAbort(aborted::countDown);
            if (!aborted.await(60, TimeUnit.SECONDS)) {
                throw new AssertionError("never aborted");
            }
            call.finished();
            throw new IllegalStateException("Exiting due to terminate flag being set to true.");
        }
    }

    @Test
    void aCallPastItsDeadlineIsAbortedAndRetried() throws Exception {
        HangingModel model = new HangingModel(1);
        MicroBatcher b = batcher(model, 2, NEVER_MS, 100);
        CompletableFuture<WindowInference> r1 = b.submit(window(1, 800));
        CompletableFuture<WindowInference> r2 = b.submit(window(2, 800));
        assertThat(get(r1).emotionLogits()[0]).isEqualTo(1f);
        assertThat(get(r2).emotionLogits()[0]).isEqualTo(2f);
        assertThat(model.batchSizes()).containsExactly(2, 2);
        assertThat(events).containsExactly("failed 2 retry", "ok 2");
    }

    @Test
    void aBatchWhoseCallsTimeOutTwiceFailsItsWindows() throws Exception {
        HangingModel model = new HangingModel(2);
        MicroBatcher b = batcher(model, 1, NEVER_MS, 50);
        assertThatThrownBy(() -> get(b.submit(window(1, 800))))
                .cause()
                .isInstanceOf(InferenceFailedException.class)
                .hasMessageContaining("inference failed 2 times for a batch of 1 windows")
                .hasMessageContaining("model call aborted after its deadline of 50 ms")
                .hasRootCauseMessage("Exiting due to terminate flag being set to true.");
        assertThat(get(b.submit(window(2, 800))).emotionLogits()[0]).isEqualTo(2f);
    }

    @Test
    void aCallThatFinishesInTimeIsNotAborted() throws Exception {
        HangingModel model = new HangingModel(0);
        MicroBatcher b = batcher(model, 1, NEVER_MS, 60_000);
        assertThat(get(b.submit(window(3, 800))).emotionLogits()[0]).isEqualTo(3f);
        assertThat(events).containsExactly("ok 1");
    }

    @Test
    void closeAbortsTheRunningCallAndFailsItsWindowsWithoutRetry() throws Exception {
        HangingModel model = new HangingModel(Integer.MAX_VALUE);
        MicroBatcher b = batcher(model, 1, NEVER_MS);
        CompletableFuture<WindowInference> running = b.submit(window(1, 800));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (model.batches.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        b.close();
        assertThatThrownBy(() -> get(running))
                .cause()
                .isInstanceOf(InferenceFailedException.class)
                .hasMessageContaining("inference failed 1 time for a batch of 1 windows");
        assertThat(model.batchSizes()).containsExactly(1);
    }
}
