package io.meritstream.inference;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a {@link MeritModel} in ONNX Runtime for a {@link ModelSpec}: resolves the device against the execution
 * providers this ONNX Runtime build offers, sets the thread pools, and loads the model by path or, without a path, the
 * default model from the classpath.
 */
public final class OrtModelLoader implements ModelLoader {
    private static final Logger LOG = LoggerFactory.getLogger(OrtModelLoader.class);

    /** Classpath resource of the default model; its card is {@link #DEFAULT_MODEL_CARD_RESOURCE}. */
    public static final String DEFAULT_MODEL_RESOURCE = "/models/merit-sparse.onnx";

    public static final String DEFAULT_MODEL_CARD_RESOURCE = "/models/merit-sparse.json";

    private final transient Supplier<Set<String>> providers;

    /** The loader the job uses: asks ONNX Runtime which execution providers it has. */
    public OrtModelLoader() {
        this(null);
    }

    /** For tests: pretends ONNX Runtime offers {@code providers} (names as {@code OrtProvider.getName()}). */
    OrtModelLoader(Supplier<Set<String>> providers) {
        this.providers = providers;
    }

    /**
     * The JVM's one ONNX Runtime environment. It must exist before session options take an execution provider: the
     * CUDA provider logs through the environment's logger and fails to start without it.
     */
    static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment();
    }

    /** Execution providers of the ONNX Runtime build in this JVM, e.g. {@code [CPUExecutionProvider]}. */
    public static Set<String> availableProviders() {
        return OrtEnvironment.getAvailableProviders().stream()
                .map(OrtProvider::getName)
                .collect(Collectors.toUnmodifiableSet());
    }

    /** Whether this JVM's ONNX Runtime can run on CUDA (the onnxruntime_gpu artifact; says nothing about a GPU). */
    public static boolean cudaProviderAvailable() {
        return availableProviders().contains(InferenceDevice.CUDA_PROVIDER);
    }

    /**
     * Why CUDA device {@code device} cannot be used in this JVM, or empty when it can: the provider is missing from the
     * ONNX Runtime build, or it is there but cannot start (no driver or GPU, CUDA 12 / cuDNN 9 libraries missing).
     */
    public static Optional<String> cudaUnavailableReason(int device) {
        if (!cudaProviderAvailable()) {
            return Optional.of("this ONNX Runtime build has no CUDA execution provider (available: "
                    + new TreeSet<>(availableProviders()) + "; build with -Pgpu)");
        }
        environment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.addCUDA(device);
            return Optional.empty();
        } catch (OrtException e) {
            return Optional.of("CUDA device " + device + " cannot be started: " + e.getMessage());
        }
    }

    @Override
    public WindowModel load(ModelSpec spec) throws Exception {
        Set<String> available = providers == null ? availableProviders() : providers.get();
        InferenceDevice device = spec.device()
                .resolve(available, spec.deviceFallback(), InferenceOptions.DEVICE_FALLBACK.key(), LOG::warn);
        if (spec.usesDefaultModel()) {
            return loadDefault(spec, device);
        }
        Path path = Path.of(spec.modelPath());
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(
                    path.toAbsolutePath().toString(),
                    null,
                    "model file named by option '" + InferenceOptions.MODEL_PATH.key()
                            + "' does not exist or is not a file");
        }
        return open(path, spec, device);
    }

    private WindowModel open(Path onnx, ModelSpec spec, InferenceDevice device) throws IOException, OrtException {
        environment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            if (spec.intraOpThreads() > 0) {
                options.setIntraOpNumThreads(spec.intraOpThreads());
            }
            if (spec.interOpThreads() > 0) {
                options.setInterOpNumThreads(spec.interOpThreads());
            }
            if (!spec.spinWait()) {
                options.addConfigEntry("session.intra_op.allow_spinning", "0");
                options.addConfigEntry("session.inter_op.allow_spinning", "0");
            }
            if (!device.isCuda()) {
                return new MeritWindowModel(MeritModel.load(onnx, MeritModel.Expectations.DEFAULT, options), device);
            }
            WindowModel model;
            try {
                options.addCUDA(device.cudaDevice());
                // A node the CUDA provider cannot run would otherwise run on the CPU without a word, copying its
                // tensors across PCIe on every call: an error here, so that the fallback option decides.
                options.addConfigEntry("session.disable_cpu_ep_fallback", "1");
                model = new MeritWindowModel(MeritModel.load(onnx, MeritModel.Expectations.DEFAULT, options), device);
            } catch (OrtException e) {
                // The provider is compiled in but cannot start (no driver, no such device, missing CUDA/cuDNN), or the
                // session cannot be created on it (a node without a CUDA kernel, out of GPU memory).
                return cudaFailed(onnx, spec, device, e.getMessage(), e);
            }
            if (!spec.fixedShapes()) {
                return model;
            }
            // A streaming encoder's rows are its chunk, whatever the window length.
            int samples = model.streaming() != null ? model.streaming().chunkSamples() : spec.fixedSamples();
            FixedShapeModel fixed = new FixedShapeModel(model, spec.fixedBatchMax(), samples);
            long start = System.nanoTime();
            try {
                fixed.warmUp();
            } catch (Exception e) {
                try {
                    model.close();
                } catch (Exception closing) {
                    e.addSuppressed(closing);
                }
                return cudaFailed(onnx, spec, device, "warm-up failed: " + e.getMessage(), e);
            }
            LOG.info("Warmed up {} in {} ms", fixed, (System.nanoTime() - start) / 1_000_000);
            return fixed;
        }
    }

    /** CUDA could not run the model: fail naming the options, or run on the CPU when the fallback option allows. */
    private WindowModel cudaFailed(Path onnx, ModelSpec spec, InferenceDevice device, String message, Exception cause)
            throws IOException, OrtException {
        String why = "CUDA device " + device.cudaDevice() + " (option '" + InferenceOptions.DEVICE.key() + "' = "
                + spec.device() + ") could not run the model: " + message
                + " (the TaskManager needs an NVIDIA driver and GPU and the CUDA 12 and cuDNN 9 libraries on its"
                + " library path; ONNX Runtime's log names the library it could not load)";
        if (!spec.deviceFallback()) {
            throw new IllegalStateException(
                    why + ". Set '" + InferenceOptions.DEVICE_FALLBACK.key() + ": true' to run on the CPU instead.",
                    cause);
        }
        LOG.warn("{}; running on the CPU because '{}' is true.", why, InferenceOptions.DEVICE_FALLBACK.key());
        return open(onnx, spec, InferenceDevice.CPU);
    }

    /**
     * The model card of {@code spec}'s model, read without loading the graph: the job reads from it, at build time,
     * whether the windows must carry the speaker-reference inputs.
     */
    public static ModelCard card(ModelSpec spec) throws IOException {
        if (!spec.usesDefaultModel()) {
            return ModelCard.read(ModelCard.besideModel(Path.of(spec.modelPath())));
        }
        Path card = Files.createTempFile("merit-default-model", ".json");
        try {
            copyResource(DEFAULT_MODEL_CARD_RESOURCE, card);
            return ModelCard.read(card);
        } finally {
            Files.deleteIfExists(card);
        }
    }

    private WindowModel loadDefault(ModelSpec spec, InferenceDevice device) throws IOException, OrtException {
        // MeritModel verifies a file against the card beside it, so the two resources go to a temporary directory;
        // the model's bytes are in the session once it is loaded and the copies are deleted.
        Path dir = Files.createTempDirectory("merit-default-model");
        Path onnx = dir.resolve("merit-sparse.onnx");
        Path card = dir.resolve("merit-sparse.json");
        try {
            copyResource(DEFAULT_MODEL_RESOURCE, onnx);
            copyResource(DEFAULT_MODEL_CARD_RESOURCE, card);
            return open(onnx, spec, device);
        } finally {
            Files.deleteIfExists(onnx);
            Files.deleteIfExists(card);
            Files.deleteIfExists(dir);
        }
    }

    private static void copyResource(String resource, Path target) throws IOException {
        try (InputStream in = OrtModelLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("No model configured and no default model packaged: option '"
                        + InferenceOptions.MODEL_PATH.key() + "' is not set and the classpath resource " + resource
                        + " is missing. The trained default model is packaged into the job jar by the training"
                        + " issue; until it is, set '" + InferenceOptions.MODEL_PATH.key()
                        + "' to an exported .onnx with its .json model card beside it.");
            }
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
