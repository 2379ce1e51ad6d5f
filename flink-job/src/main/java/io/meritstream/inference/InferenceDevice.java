package io.meritstream.inference;

import java.io.Serializable;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where ONNX Runtime runs the model: {@code cpu} or {@code cuda[:N]} (CUDA device N, default 0). Parsed from the
 * {@code inference.device} option; {@link #resolve} decides at start-up what actually runs, given the execution
 * providers the loaded ONNX Runtime build offers.
 */
public record InferenceDevice(Kind kind, int cudaDevice) implements Serializable {

    public enum Kind {
        CPU,
        CUDA
    }

    public static final InferenceDevice CPU = new InferenceDevice(Kind.CPU, 0);

    private static final Pattern CUDA_PATTERN = Pattern.compile("cuda(?::(\\d{1,4}))?");

    public InferenceDevice {
        if (kind == null) {
            throw new IllegalArgumentException("device kind must not be null");
        }
        if (cudaDevice < 0) {
            throw new IllegalArgumentException("CUDA device index must be >= 0, got " + cudaDevice);
        }
        if (kind == Kind.CPU && cudaDevice != 0) {
            throw new IllegalArgumentException("a CPU device has no device index, got " + cudaDevice);
        }
    }

    public static InferenceDevice cuda(int device) {
        return new InferenceDevice(Kind.CUDA, device);
    }

    /**
     * Parses {@code cpu}, {@code cuda} or {@code cuda:N} (case-insensitive, surrounding blanks ignored).
     *
     * @param optionKey the option the value came from, named in the error message
     * @throws IllegalArgumentException naming the option, the value and the allowed forms
     */
    public static InferenceDevice parse(String optionKey, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("Option '" + optionKey
                    + "' must be 'cpu', 'cuda' or 'cuda:N' (N = CUDA device index), got an empty" + " value");
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.equals("cpu")) {
            return CPU;
        }
        Matcher m = CUDA_PATTERN.matcher(v);
        if (m.matches()) {
            return cuda(m.group(1) == null ? 0 : Integer.parseInt(m.group(1)));
        }
        throw new IllegalArgumentException("Option '" + optionKey + "' must be 'cpu', 'cuda' or 'cuda:N' (N = CUDA"
                + " device index, e.g. cuda:0), got '" + value + "'");
    }

    public boolean isCuda() {
        return kind == Kind.CUDA;
    }

    /**
     * The device to run on, given the execution providers ONNX Runtime offers in this JVM ({@code
     * OrtEnvironment.getAvailableProviders()}, as names such as {@code CUDAExecutionProvider}).
     *
     * @param fallbackToCpu whether a CUDA request may run on the CPU when CUDA is missing
     * @param warnings receives the warning when it falls back
     * @throws IllegalStateException when CUDA is asked for, missing and fallback is off; the message says how to fix it
     */
    public InferenceDevice resolve(
            Set<String> availableProviders,
            boolean fallbackToCpu,
            String fallbackOptionKey,
            java.util.function.Consumer<String> warnings) {
        if (!isCuda() || availableProviders.contains(CUDA_PROVIDER)) {
            return this;
        }
        String why = "Device '" + this + "' was asked for but the loaded ONNX Runtime offers no CUDA execution provider"
                + " (available: " + new java.util.TreeSet<>(availableProviders) + "). Build the job with the Maven"
                + " profile -Pgpu (the onnxruntime_gpu artifact) and run it on a machine with an NVIDIA GPU, CUDA 12"
                + " and cuDNN 9";
        if (fallbackToCpu) {
            warnings.accept(why + "; running on the CPU because '" + fallbackOptionKey + "' is true.");
            return CPU;
        }
        throw new IllegalStateException(why + ", or set '" + fallbackOptionKey + ": true' to run on the CPU instead.");
    }

    /** ONNX Runtime's name for its CUDA execution provider, as {@code OrtProvider.CUDA.getName()} reports it. */
    public static final String CUDA_PROVIDER = "CUDAExecutionProvider";

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + cudaDevice;
    }
}
