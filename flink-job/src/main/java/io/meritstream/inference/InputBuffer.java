package io.meritstream.inference;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * One direct buffer per calling thread for the model's waveform input, reused from call to call and grown to the
 * largest batch seen. ONNX Runtime reads a direct buffer in place; a new one per call (1.5 MB at B = 8 × 3 s) is
 * garbage the JVM frees only when a GC happens to run, so under load direct memory grows until
 * {@code -XX:MaxDirectMemorySize} fails the call. Reuse is safe because the input tensor is closed before the thread
 * calls the model again. Each batcher thread holds at most one buffer of {@code inference.batch.max} windows: count
 * that in the TaskManager's {@code taskmanager.memory.task.off-heap.size}.
 */
final class InputBuffer {
    private static final ThreadLocal<FloatBuffer> BUFFER = new ThreadLocal<>();

    private InputBuffer() {}

    /** This thread's buffer, positioned at 0 with room for exactly {@code floats} values. */
    static FloatBuffer of(int floats) {
        FloatBuffer buffer = BUFFER.get();
        if (buffer == null || buffer.capacity() < floats) {
            buffer = ByteBuffer.allocateDirect(Float.BYTES * floats)
                    .order(ByteOrder.nativeOrder())
                    .asFloatBuffer();
            BUFFER.set(buffer);
        }
        buffer.clear();
        buffer.limit(floats);
        return buffer;
    }
}
