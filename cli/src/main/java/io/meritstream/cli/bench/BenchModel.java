package io.meritstream.cli.bench;

import io.meritstream.inference.InferenceDevice;
import io.meritstream.inference.InferenceOptions;
import io.meritstream.inference.ModelCard;
import io.meritstream.inference.ModelSpec;
import io.meritstream.inference.OrtModelLoader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model under test as a file with its card beside it. The default model is a classpath resource; it is copied to
 * {@code workDir} so that every part of the bench (raw ONNX Runtime, the pipeline, the PyTorch side, which reads the
 * card's config) measures the very same bytes.
 */
public record BenchModel(Path onnx, Path card, boolean isDefault) {

    public static BenchModel resolve(Path modelOrNull, Path workDir) throws IOException {
        if (modelOrNull != null) {
            if (!Files.isRegularFile(modelOrNull)) {
                throw new NoSuchFileException(modelOrNull.toAbsolutePath().toString(), null, "--model: no such file");
            }
            Path card = ModelCard.besideModel(modelOrNull);
            if (!Files.isRegularFile(card)) {
                throw new NoSuchFileException(
                        card.toAbsolutePath().toString(), null, "the model card must lie beside the --model file");
            }
            return new BenchModel(modelOrNull.toAbsolutePath(), card.toAbsolutePath(), false);
        }
        Path onnx = workDir.resolve("merit-sparse.onnx");
        Path card = workDir.resolve("merit-sparse.json");
        copy(OrtModelLoader.DEFAULT_MODEL_RESOURCE, onnx);
        copy(OrtModelLoader.DEFAULT_MODEL_CARD_RESOURCE, card);
        return new BenchModel(onnx, card, true);
    }

    private static void copy(String resource, Path target) throws IOException {
        try (InputStream in = BenchModel.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("no --model given and this build packages no default model (classpath "
                        + resource + " is missing); pass --model PATH.onnx (its .json card beside it), e.g. the test"
                        + " fixture flink-job/src/test/resources/fixtures/sparse_merit_fixture.onnx");
            }
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * The ONNX Runtime session spec of the raw bench: {@code device} ('cpu', 'cuda' or 'cuda:N', as the job's option
     * takes it, without a CPU fallback), {@code threads} intra-op, spinning or sleeping threads. The pipeline gets the
     * same through its options.
     */
    public ModelSpec spec(int threads, String device, boolean spinWait) {
        return new ModelSpec(
                onnx.toString(),
                InferenceDevice.parse(InferenceOptions.DEVICE.key(), device),
                false,
                threads,
                1,
                spinWait,
                0,
                0);
    }

    public ModelCard readCard() throws IOException {
        return ModelCard.read(card);
    }
}
