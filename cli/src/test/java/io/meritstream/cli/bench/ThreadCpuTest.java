package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {
    @Test
    void groupsDropSubtaskAndInstanceNumbers() {
        assertThat(ThreadCpu.group("Source: audio-frames source -> decode+validate (1/2)#0"))
                .isEqualTo("Source: audio-frames source -> decode+validate");
        assertThat(ThreadCpu.group("analytics: overlap-add (2/2)")).isEqualTo("analytics: overlap-add");
        assertThat(ThreadCpu.group("data-plane-kafka-request-handler-3")).isEqualTo("data-plane-kafka-request-handler");
        assertThat(ThreadCpu.group("kafka-producer-network-thread | producer-12"))
                .isEqualTo("kafka-producer-network-thread");
        assertThat(ThreadCpu.group("main")).isEqualTo("main");
    }

    @Test
    void aBusyThreadShowsUpInItsGroupAndTheRestIsNative() throws Exception {
        ThreadCpu.Snapshot before = ThreadCpu.take();
        Thread busy = new Thread(
                () -> {
                    long end = System.nanoTime() + 200_000_000L;
                    double x = 0;
                    while (System.nanoTime() < end) {
                        x += Math.sqrt(x + 1);
                    }
                    if (x < 0) {
                        throw new AssertionError();
                    }
                },
                "bench-busy-7");
        busy.start();
        // Take the second snapshot while the thread is still alive (a finished thread has no CPU time to read).
        Thread.sleep(150);
        ThreadCpu.Snapshot after = ThreadCpu.take();
        busy.join();
        Map<String, Long> groups = ThreadCpu.between(before, after);
        assertThat(groups).containsKey("bench-busy");
        assertThat(groups.get("bench-busy")).isPositive();
        // Largest first.
        Long previous = Long.MAX_VALUE;
        for (Long v : groups.values()) {
            assertThat(v).isLessThanOrEqualTo(previous);
            previous = v;
        }
    }
}
