package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SharedModelRegistryTest {
    private static final ModelSpec SPEC = new ModelSpec("/models/a.onnx", InferenceDevice.CPU, false, 2, 1);

    private final List<FakeWindowModel> loaded = new ArrayList<>();

    private final ModelLoader loader = spec -> {
        FakeWindowModel m = new FakeWindowModel("fake " + loaded.size());
        loaded.add(m);
        return m;
    };

    @Test
    void subtasksShareOneModelThatClosesWithTheLastLease() throws Exception {
        SharedModelRegistry registry = new SharedModelRegistry();
        SharedModelRegistry.Lease a = registry.acquire(SPEC, loader);
        SharedModelRegistry.Lease b = registry.acquire(SPEC, loader);
        SharedModelRegistry.Lease c =
                registry.acquire(new ModelSpec("/models/a.onnx", InferenceDevice.CPU, false, 2, 1), loader);

        assertThat(loaded).hasSize(1);
        assertThat(b.model()).isSameAs(a.model()).isSameAs(c.model());
        assertThat(registry.references(SPEC)).isEqualTo(3);

        a.close();
        b.close();
        assertThat(registry.references(SPEC)).isEqualTo(1);
        assertThat(loaded.get(0).closed).isFalse();

        c.close();
        assertThat(registry.references(SPEC)).isZero();
        assertThat(loaded.get(0).closed).isTrue();
    }

    @Test
    void closingALeaseTwiceReleasesItOnce() throws Exception {
        SharedModelRegistry registry = new SharedModelRegistry();
        SharedModelRegistry.Lease a = registry.acquire(SPEC, loader);
        SharedModelRegistry.Lease b = registry.acquire(SPEC, loader);
        a.close();
        a.close();
        assertThat(registry.references(SPEC)).isEqualTo(1);
        assertThat(loaded.get(0).closed).isFalse();
        b.close();
        assertThat(loaded.get(0).closed).isTrue();
    }

    @Test
    void aModelIsLoadedAgainAfterItWasClosed() throws Exception {
        SharedModelRegistry registry = new SharedModelRegistry();
        registry.acquire(SPEC, loader).close();
        try (SharedModelRegistry.Lease again = registry.acquire(SPEC, loader)) {
            assertThat(loaded).hasSize(2);
            assertThat(again.model()).isSameAs(loaded.get(1));
            assertThat(loaded.get(1).closed).isFalse();
        }
    }

    @Test
    void differentDevicesOrThreadCountsGetTheirOwnSession() throws Exception {
        SharedModelRegistry registry = new SharedModelRegistry();
        try (SharedModelRegistry.Lease cpu = registry.acquire(SPEC, loader);
                SharedModelRegistry.Lease cuda = registry.acquire(
                        new ModelSpec("/models/a.onnx", InferenceDevice.cuda(0), false, 2, 1), loader);
                SharedModelRegistry.Lease threads =
                        registry.acquire(new ModelSpec("/models/a.onnx", InferenceDevice.CPU, false, 1, 1), loader)) {
            assertThat(loaded).hasSize(3);
            assertThat(cpu.model()).isNotSameAs(cuda.model()).isNotSameAs(threads.model());
        }
        assertThat(loaded).allSatisfy(m -> assertThat(m.closed).isTrue());
    }

    @Test
    void aFailedLoadRegistersNothing() throws Exception {
        SharedModelRegistry registry = new SharedModelRegistry();
        assertThatThrownBy(() -> registry.acquire(SPEC, spec -> {
                    throw new IllegalStateException("broken model");
                }))
                .hasMessage("broken model");
        assertThat(registry.references(SPEC)).isZero();
        try (SharedModelRegistry.Lease ok = registry.acquire(SPEC, loader)) {
            assertThat(registry.references(SPEC)).isEqualTo(1);
        }
    }

    @Test
    void concurrentAcquiresLoadOnce() throws Exception {
        SharedModelRegistry registry = new SharedModelRegistry();
        ModelLoader slow = spec -> {
            Thread.sleep(50);
            return loader.load(spec);
        };
        List<Thread> threads = new ArrayList<>();
        List<SharedModelRegistry.Lease> leases = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 4; i++) {
            Thread t = new Thread(() -> {
                try {
                    leases.add(registry.acquire(SPEC, slow));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(loaded).hasSize(1);
        assertThat(leases).hasSize(4);
        assertThat(registry.references(SPEC)).isEqualTo(4);
        for (SharedModelRegistry.Lease l : leases) {
            l.close();
        }
        assertThat(loaded.get(0).closed).isTrue();
    }

    @Test
    void leasesShareOneBatcherThatClosesWithTheLastLease() throws Exception {
        SharedModelRegistry registry = new SharedModelRegistry();
        ModelSpec gpu = new ModelSpec("/models/a.onnx", InferenceDevice.cuda(0), false, 2, 1);
        // Batches of 4, formed only when full: the windows of two subtasks must ride in one call.
        InferenceSettings settings = new InferenceSettings(gpu, 4, 60_000, 16, 120_000);
        List<Integer> heardByA = new ArrayList<>();
        List<Integer> heardByB = new ArrayList<>();
        SharedModelRegistry.Lease a = registry.acquire(gpu, loader);
        SharedModelRegistry.Lease b = registry.acquire(gpu, loader);
        MicroBatcher batcherA = a.sharedBatcher(settings, new Listening(heardByA));
        MicroBatcher batcherB = b.sharedBatcher(settings, new Listening(heardByB));
        assertThat(batcherB).isSameAs(batcherA);

        List<java.util.concurrent.CompletableFuture<WindowInference>> results = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            results.add(batcherA.submit(new float[1_000]));
            results.add(batcherB.submit(new float[1_000]));
        }
        for (var r : results) {
            r.get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertThat(loaded.get(0).batchSizes()).containsExactly(4);
        assertThat(heardByA).containsExactly(4); // each batch counted once, by the first lease
        assertThat(heardByB).isEmpty();

        a.close(); // the other subtask goes on, and now hears of the batches
        for (int i = 0; i < 4; i++) {
            results.add(batcherB.submit(new float[1_000]));
        }
        for (var r : results) {
            r.get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertThat(heardByB).containsExactly(4);
        assertThat(loaded.get(0).closed).isFalse();

        b.close();
        assertThat(loaded.get(0).closed).isTrue();
        assertThat(batcherB.submit(new float[1_000]))
                .failsWithin(java.time.Duration.ofSeconds(1))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withMessageContaining("closed");
        assertThatThrownBy(() -> b.sharedBatcher(settings, new Listening(heardByB)))
                .hasMessageContaining("is closed");
    }

    private record Listening(List<Integer> sizes) implements MicroBatcher.Listener {
        @Override
        public void batchSucceeded(int size, long nanos) {
            sizes.add(size);
        }
    }
}
