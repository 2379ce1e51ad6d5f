package io.meritstream.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A model whose outputs reveal its inputs, so tests can check which window got which result: enhanced = 2 × input,
 * emotion logits = (first sample, 0, 0, 0), and frame f of either task routed to expert f mod 3. Records every batch it
 * was given; {@link #failNextCalls} makes calls throw.
 */
class FakeWindowModel implements WindowModel {
    static final int EXPERTS = 3;

    final List<float[][]> batches = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger failNextCalls = new AtomicInteger();
    volatile boolean closed;
    private final String version;

    FakeWindowModel(String version) {
        this.version = version;
    }

    FakeWindowModel() {
        this("fake 1.0");
    }

    @Override
    public BatchOutput run(float[][] batch) throws Exception {
        batches.add(Arrays.stream(batch).map(float[]::clone).toArray(float[][]::new));
        beforeRun(batch);
        if (failNextCalls.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IllegalStateException("fake model failure");
        }
        int b = batch.length;
        int n = batch[0].length;
        int frames = frameCount(n);
        float[][] enhanced = new float[b][n];
        float[][] logits = new float[b][4];
        long[][] se = new long[b][frames];
        long[][] ser = new long[b][frames];
        for (int i = 0; i < b; i++) {
            for (int s = 0; s < n; s++) {
                enhanced[i][s] = 2 * batch[i][s];
            }
            logits[i][0] = batch[i][0];
            for (int f = 0; f < frames; f++) {
                se[i][f] = f % EXPERTS;
                ser[i][f] = (f + 1) % EXPERTS;
            }
        }
        return new BatchOutput(enhanced, logits, se, ser);
    }

    /** Hook for tests that need to hold a call. */
    void beforeRun(float[][] batch) throws Exception {}

    List<Integer> batchSizes() {
        synchronized (batches) {
            return batches.stream().map(b -> b.length).toList();
        }
    }

    @Override
    public List<String> classes() {
        return List.of("angry", "sad", "happy", "neutral");
    }

    @Override
    public int expertCount() {
        return EXPERTS;
    }

    @Override
    public String version() {
        return version;
    }

    @Override
    public void close() {
        closed = true;
    }
}
