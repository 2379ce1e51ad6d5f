package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The ONNX Runtime loader against the committed tiny fixture model (CPU; CUDA where a CUDA build and GPU exist). */
class OrtModelLoaderTest {
    static final Path FIXTURE = Path.of("src/test/resources/fixtures/sparse_merit_fixture.onnx");

    private static ModelSpec spec(String path, InferenceDevice device, boolean fallback) {
        return new ModelSpec(path, device, fallback, 1, 1);
    }

    private static float[][] sine(int batch, int samples) {
        float[][] x = new float[batch][samples];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < samples; i++) {
                x[b][i] = (float) (0.1 * Math.sin(2 * Math.PI * (200 + 100 * b) * i / 16000.0));
            }
        }
        return x;
    }

    @Test
    void loadsAModelByPathAndRunsABatch() throws Exception {
        try (WindowModel model = new OrtModelLoader().load(spec(FIXTURE.toString(), InferenceDevice.CPU, false))) {
            assertThat(model.version()).isEqualTo("sparse_merit_fixture 0.0.1-fixture");
            assertThat(model.expertCount()).isEqualTo(3);
            assertThat(model.classes()).containsExactly("angry", "sad", "happy", "neutral");
            assertThat(((MeritWindowModel) model).device()).isEqualTo(InferenceDevice.CPU);

            BatchOutput out = model.run(sine(2, 16000));
            assertThat(out.enhanced()).hasDimensions(2, 16000);
            assertThat(out.emotionLogits()).hasDimensions(2, 4);
            // The routing has as many frames as the batcher's frame formula says, so cutting padding off is exact.
            assertThat(out.routingSe()).hasDimensions(2, model.frameCount(16000));
            assertThat(out.routingSer()).hasDimensions(2, model.frameCount(16000));
            for (long e : out.routingSe()[1]) {
                assertThat(e).isBetween(0L, 2L);
            }
        }
    }

    @Test
    void frameFormulaMatchesTheModelForOtherLengths() throws Exception {
        try (WindowModel model = new OrtModelLoader().load(spec(FIXTURE.toString(), InferenceDevice.CPU, false))) {
            for (int n : new int[] {400, 719, 720, 48000}) {
                assertThat(model.run(sine(1, n)).routingSe()[0])
                        .as("frames for %d samples", n)
                        .hasSize(model.frameCount(n));
            }
        }
    }

    @Test
    void aMissingModelFileIsNamedWithItsOption() {
        assertThatThrownBy(() -> new OrtModelLoader().load(spec("/nonexistent/m.onnx", InferenceDevice.CPU, false)))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("/nonexistent/m.onnx")
                .hasMessageContaining("option 'inference.model.path'");
    }

    @Test
    void withoutAPathAndWithoutAPackagedDefaultTheErrorSaysWhatToDo() {
        Assumptions.assumeTrue(
                OrtModelLoader.class.getResource(OrtModelLoader.DEFAULT_MODEL_RESOURCE) == null,
                "a default model is packaged on the classpath");
        assertThatThrownBy(() -> new OrtModelLoader().load(spec(null, InferenceDevice.CPU, false)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("option 'inference.model.path' is not set and the classpath resource"
                        + " /models/merit-sparse.onnx is missing")
                .hasMessageContaining("set 'inference.model.path' to an exported .onnx");
    }

    @Test
    void cudaWithoutACudaBuildFailsAtLoadUnlessFallbackIsOn() throws Exception {
        OrtModelLoader cpuOnly = new OrtModelLoader(() -> Set.of("CPUExecutionProvider"));
        assertThatThrownBy(() -> cpuOnly.load(spec(FIXTURE.toString(), InferenceDevice.cuda(0), false)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Device 'cuda:0' was asked for but the loaded ONNX Runtime offers no CUDA")
                .hasMessageContaining("'inference.device-fallback: true'");

        try (WindowModel model = cpuOnly.load(spec(FIXTURE.toString(), InferenceDevice.cuda(0), true))) {
            assertThat(((MeritWindowModel) model).device()).isEqualTo(InferenceDevice.CPU);
            assertThat(model.run(sine(1, 16000)).enhanced()).hasDimensions(1, 16000);
        }
    }

    @Test
    void aCudaProviderThatCannotStartFailsAtLoadUnlessFallbackIsOn() throws Exception {
        Assumptions.assumeTrue(
                OrtModelLoader.cudaUnavailableReason(0).isPresent(), "CUDA device 0 is usable on this machine");
        // Claims CUDA is compiled in; on this machine it cannot start (CPU build, or GPU build without a GPU).
        OrtModelLoader claimsCuda = new OrtModelLoader(() -> Set.of("CPUExecutionProvider", "CUDAExecutionProvider"));
        assertThatThrownBy(() -> claimsCuda.load(spec(FIXTURE.toString(), InferenceDevice.cuda(0), false)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("CUDA device 0 (option 'inference.device' = cuda:0) could not run the model: ")
                .hasMessageEndingWith("Set 'inference.device-fallback: true' to run on the CPU instead.");
        try (WindowModel model = claimsCuda.load(spec(FIXTURE.toString(), InferenceDevice.cuda(0), true))) {
            assertThat(((MeritWindowModel) model).device()).isEqualTo(InferenceDevice.CPU);
        }
    }

    @Test
    void theRealProviderListDecidesWithoutAGpuBuild() {
        Assumptions.assumeFalse(OrtModelLoader.cudaProviderAvailable(), "this ONNX Runtime build has CUDA");
        assertThat(OrtModelLoader.availableProviders()).contains("CPUExecutionProvider");
        assertThatThrownBy(() -> new OrtModelLoader().load(spec(FIXTURE.toString(), InferenceDevice.cuda(0), false)))
                .hasMessageContaining("offers no CUDA execution provider");
    }

    @Test
    void cudaMatchesCpuWhereAGpuIsAvailable() throws Exception {
        Optional<String> unavailable = OrtModelLoader.cudaUnavailableReason(0);
        Assumptions.assumeTrue(
                unavailable.isEmpty(),
                () -> "GPU test skipped: " + unavailable.orElse("") + " (run with -Pgpu on a machine with an NVIDIA"
                        + " GPU)");
        float[][] x = sine(2, 48000);
        try (WindowModel cpu = new OrtModelLoader().load(spec(FIXTURE.toString(), InferenceDevice.CPU, false));
                WindowModel gpu = new OrtModelLoader().load(spec(FIXTURE.toString(), InferenceDevice.cuda(0), false))) {
            assertThat(((MeritWindowModel) gpu).device()).isEqualTo(InferenceDevice.cuda(0));
            BatchOutput a = cpu.run(x);
            BatchOutput b = gpu.run(x);
            for (int i = 0; i < 2; i++) {
                for (int c = 0; c < 4; c++) {
                    assertThat(b.emotionLogits()[i][c]).isCloseTo(a.emotionLogits()[i][c], within(1e-3f));
                }
            }
            assertThat(b.enhanced()).hasDimensions(2, 48000);
        }
    }

    @Test
    void anAbortedCallStopsWithAnError() throws Exception {
        try (WindowModel model = new OrtModelLoader().load(spec(FIXTURE.toString(), InferenceDevice.CPU, false))) {
            ModelCall call = new ModelCall();
            call.abort(); // the deadline passed before the call started: the terminate flag is set on registration
            assertThatThrownBy(() -> model.run(sine(2, 16000), call))
                    .isInstanceOf(ai.onnxruntime.OrtException.class)
                    .hasMessageContaining("terminate");
            assertThat(model.run(sine(1, 16000), new ModelCall()).enhanced())
                    .as("the session still works")
                    .hasDimensions(1, 16000);
        }
    }
}
