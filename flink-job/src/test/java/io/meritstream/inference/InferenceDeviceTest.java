package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InferenceDeviceTest {
    private static final Set<String> CPU_ONLY = Set.of("CPUExecutionProvider");
    private static final Set<String> WITH_CUDA = Set.of("CPUExecutionProvider", "CUDAExecutionProvider");

    @Test
    void parsesCpuAndCudaDevices() {
        assertThat(InferenceDevice.parse("inference.device", "cpu")).isEqualTo(InferenceDevice.CPU);
        assertThat(InferenceDevice.parse("inference.device", " CPU ")).isEqualTo(InferenceDevice.CPU);
        assertThat(InferenceDevice.parse("inference.device", "cuda")).isEqualTo(InferenceDevice.cuda(0));
        assertThat(InferenceDevice.parse("inference.device", "CUDA:3")).isEqualTo(InferenceDevice.cuda(3));
        assertThat(InferenceDevice.parse("inference.device", "cuda:1").toString())
                .isEqualTo("cuda:1");
        assertThat(InferenceDevice.CPU.toString()).isEqualTo("cpu");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpu", "cuda:", "cuda:-1", "cuda:x", "cuda0", "cpu:0", "cuda:99999"})
    void rejectsOtherValuesNamingTheOptionAndTheAllowedForms(String value) {
        assertThatThrownBy(() -> InferenceDevice.parse("inference.device", value))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Option 'inference.device' must be 'cpu', 'cuda' or 'cuda:N' (N = CUDA device index, e.g."
                        + " cuda:0), got '" + value + "'");
    }

    @Test
    void rejectsAnEmptyValue() {
        assertThatThrownBy(() -> InferenceDevice.parse("inference.device", " "))
                .hasMessageContaining("Option 'inference.device' must be")
                .hasMessageContaining("got an empty value");
    }

    @Test
    void theCudaProviderNameIsOnnxRuntimes() {
        assertThat(InferenceDevice.CUDA_PROVIDER).isEqualTo(OrtProvider.CUDA.getName());
    }

    @Test
    void cpuAndAvailableCudaResolveToThemselves() {
        List<String> warnings = new ArrayList<>();
        assertThat(InferenceDevice.CPU.resolve(CPU_ONLY, false, "fb", warnings::add))
                .isEqualTo(InferenceDevice.CPU);
        assertThat(InferenceDevice.cuda(1).resolve(WITH_CUDA, false, "fb", warnings::add))
                .isEqualTo(InferenceDevice.cuda(1));
        assertThat(warnings).isEmpty();
    }

    @Test
    void missingCudaFailsWithAMessageSayingHowToFixIt() {
        assertThatThrownBy(() -> InferenceDevice.cuda(0).resolve(CPU_ONLY, false, "inference.device-fallback", w -> {}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Device 'cuda:0' was asked for but the loaded ONNX Runtime offers no CUDA"
                        + " execution provider (available: [CPUExecutionProvider])")
                .hasMessageContaining("-Pgpu")
                .hasMessageContaining("or set 'inference.device-fallback: true' to run on the CPU instead.");
    }

    @Test
    void missingCudaFallsBackToTheCpuWithAWarningWhenAllowed() {
        List<String> warnings = new ArrayList<>();
        assertThat(InferenceDevice.cuda(0).resolve(CPU_ONLY, true, "inference.device-fallback", warnings::add))
                .isEqualTo(InferenceDevice.CPU);
        assertThat(warnings)
                .singleElement()
                .asString()
                .contains("no CUDA execution provider")
                .endsWith("running on the CPU because 'inference.device-fallback' is true.");
    }
}
