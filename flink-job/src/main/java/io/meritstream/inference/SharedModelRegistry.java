package io.meritstream.inference;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One model session per JVM and {@link ModelSpec}, shared by every inference subtask of the TaskManager and
 * reference-counted: each subtask {@link #acquire}s in {@code open()} and closes its {@link Lease} in {@code close()};
 * the session closes when the last lease does.
 *
 * <p>Why shared: an ONNX Runtime session holds the weights and its own thread pools. One per subtask would multiply the
 * memory by the slot count and oversubscribe the cores with one intra-op pool per subtask. Sessions are thread-safe for
 * {@code run}, so the subtasks call one concurrently.
 *
 * <p>The registry is a static of this class, so it is per class loader: with ONNX Runtime loaded parent-first (see the
 * deployment notes) and the job's classes in the job's class loader, it is one per job per TaskManager.
 */
public final class SharedModelRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(SharedModelRegistry.class);

    private static final SharedModelRegistry SHARED = new SharedModelRegistry();

    private final Map<ModelSpec, Entry> entries = new HashMap<>();

    /** A registry of its own; the job uses {@link #shared()}. */
    SharedModelRegistry() {}

    /** The registry of this JVM (class loader). */
    public static SharedModelRegistry shared() {
        return SHARED;
    }

    /**
     * The model for {@code spec}, loaded with {@code loader} if no lease on it is open, otherwise the open one.
     *
     * @throws Exception what the loader throws; nothing is registered then
     */
    public Lease acquire(ModelSpec spec, ModelLoader loader) throws Exception {
        synchronized (entries) {
            Entry entry = entries.get(spec);
            if (entry == null) {
                // Loading under the lock: a second subtask asking for the same model must wait for it rather than load
                // a copy, and loading different models at once would only compete for the same cores.
                long start = System.nanoTime();
                WindowModel model = loader.load(spec);
                if (model == null) {
                    throw new IllegalStateException("model loader returned null for " + spec);
                }
                LOG.info(
                        "Loaded model {} ({}) in {} ms",
                        model.version(),
                        spec,
                        (System.nanoTime() - start) / 1_000_000);
                entry = new Entry(model);
                entries.put(spec, entry);
            }
            entry.references++;
            return new Lease(spec, entry.model);
        }
    }

    /** Open leases on {@code spec}'s model; 0 when it is not loaded. */
    public int references(ModelSpec spec) {
        synchronized (entries) {
            Entry entry = entries.get(spec);
            return entry == null ? 0 : entry.references;
        }
    }

    private void release(ModelSpec spec, WindowModel model, MicroBatcher.Listener listener) throws Exception {
        WindowModel toClose = null;
        MicroBatcher batcherToClose = null;
        synchronized (entries) {
            Entry entry = entries.get(spec);
            if (entry == null || entry.model != model) {
                throw new IllegalStateException("released a lease on " + spec + " that the registry does not hold");
            }
            if (listener != null) {
                entry.batcherListeners.remove(listener);
            }
            if (--entry.references == 0) {
                entries.remove(spec);
                toClose = model;
                batcherToClose = entry.batcher;
            }
        }
        if (batcherToClose != null) {
            batcherToClose.close();
        }
        if (toClose != null) {
            // Outside the lock: nobody holds a lease any more, and a concurrent acquire loads a fresh session.
            LOG.info("Closing model {} ({}): last lease released", toClose.version(), spec);
            toClose.close();
        }
    }

    private static final class Entry {
        final WindowModel model;
        int references;
        /** The batcher all leases share ({@link Lease#sharedBatcher}), or null while none asked for it. */
        MicroBatcher batcher;
        /**
         * The listeners of the leases on the shared batcher; the first gets every batch, so that batch metrics are
         * counted once (by one subtask) and pass to another when that one closes.
         */
        final List<MicroBatcher.Listener> batcherListeners = new CopyOnWriteArrayList<>();

        Entry(WindowModel model) {
            this.model = model;
        }
    }

    /** Hands each batch's news to the first listener still registered. */
    private static final class FirstListener implements MicroBatcher.Listener {
        private final List<MicroBatcher.Listener> listeners;

        FirstListener(List<MicroBatcher.Listener> listeners) {
            this.listeners = listeners;
        }

        @Override
        public void batchSucceeded(int size, long nanos) {
            first().batchSucceeded(size, nanos);
        }

        @Override
        public void batchFailed(int size, Throwable cause, boolean willRetry) {
            first().batchFailed(size, cause, willRetry);
        }

        private MicroBatcher.Listener first() {
            Iterator<MicroBatcher.Listener> it = listeners.iterator(); // a snapshot: leases may close meanwhile
            return it.hasNext() ? it.next() : new MicroBatcher.Listener() {};
        }
    }

    /** One subtask's hold on a shared model. Closing it more than once releases it once. */
    public final class Lease implements AutoCloseable {
        private final ModelSpec spec;
        private final WindowModel model;
        private MicroBatcher.Listener batcherListener;
        private boolean released;

        private Lease(ModelSpec spec, WindowModel model) {
            this.spec = spec;
            this.model = model;
        }

        public WindowModel model() {
            return model;
        }

        /**
         * The one batcher of this model that every lease on it shares, made by the first lease that asks with {@code
         * settings}' batch limits, and closed with the model when the last lease closes. For a GPU: one stream of
         * full batches from all the TaskManager's slots instead of one small batch per slot. {@code listener} hears of
         * batches while it is the first listener still registered (metrics count each batch once).
         */
        public MicroBatcher sharedBatcher(InferenceSettings settings, MicroBatcher.Listener listener) {
            synchronized (entries) {
                Entry entry = entries.get(spec);
                if (entry == null || entry.model != model || released) {
                    throw new IllegalStateException("the lease on " + spec + " is closed");
                }
                if (entry.batcher == null) {
                    entry.batcher = new MicroBatcher(
                            model,
                            settings.batchMax(),
                            settings.batchTimeoutMs(),
                            settings.callTimeoutMs(),
                            new FirstListener(entry.batcherListeners),
                            "merit-inference-shared");
                }
                if (batcherListener == null) {
                    batcherListener = listener;
                    entry.batcherListeners.add(listener);
                }
                return entry.batcher;
            }
        }

        @Override
        public synchronized void close() throws Exception {
            if (!released) {
                released = true;
                release(spec, model, batcherListener);
            }
        }
    }
}
