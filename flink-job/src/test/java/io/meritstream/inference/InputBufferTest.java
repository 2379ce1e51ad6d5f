package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class InputBufferTest {

    @Test
    void aThreadReusesOneDirectBufferAndGrowsItOnlyForALargerBatch() throws Exception {
        FloatBuffer first = InputBuffer.of(8 * 48_000);
        assertThat(first.isDirect()).isTrue();
        first.put(1f);
        FloatBuffer smaller = InputBuffer.of(2 * 48_000);
        assertThat(smaller).isSameAs(first);
        assertThat(smaller.position()).isZero();
        assertThat(smaller.limit())
                .as("exactly the batch: ONNX Runtime takes the remaining values")
                .isEqualTo(96_000);
        FloatBuffer larger = InputBuffer.of(16 * 48_000);
        assertThat(larger).isNotSameAs(first);
        assertThat(larger.remaining()).isEqualTo(16 * 48_000);
        assertThat(InputBuffer.of(48_000)).isSameAs(larger);

        AtomicReference<FloatBuffer> other = new AtomicReference<>();
        Thread t = new Thread(() -> other.set(InputBuffer.of(48_000)));
        t.start();
        t.join();
        assertThat(other.get()).as("another thread's own").isNotSameAs(larger);
    }
}
