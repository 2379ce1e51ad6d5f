package io.meritstream.inference;

/** Inference gave up on a window: its batch failed twice, it timed out, or the operator closed before it ran. */
public class InferenceFailedException extends Exception {
    public InferenceFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    public InferenceFailedException(String message) {
        super(message);
    }
}
