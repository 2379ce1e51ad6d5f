package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfilerTest {
    @TempDir
    Path dir;

    /** Busy for half a second in a method of its own, so that the profile must name it. */
    static double spinInAMethodTheProfileMustName() {
        double x = 0;
        long end = System.nanoTime() + 500_000_000L;
        while (System.nanoTime() < end) {
            x += Math.sqrt(x + 1);
        }
        return x;
    }

    @Test
    void cpuAndAllocationProfilesNameTheHotCode() throws Exception {
        Profiler profiler = Profiler.load();
        Profiler.Result cpu = profiler.profile(Profiler.Kind.CPU, dir, ProfilerTest::spinInAMethodTheProfileMustName);
        assertThat(cpu.flameGraph()).isEqualTo(dir.resolve("cpu.html").toAbsolutePath());
        assertThat(Files.readString(cpu.flameGraph())).contains("<html").contains("spinInAMethodTheProfileMustName");
        assertThat(Files.readString(cpu.top())).isEqualTo(cpu.topText()).contains("Total samples");

        Profiler.Result alloc = profiler.profile(Profiler.Kind.ALLOC, dir, () -> {
            byte[][] keep = new byte[64][];
            for (int i = 0; i < 20_000; i++) {
                keep[i % keep.length] = new byte[64 * 1024];
            }
        });
        assertThat(alloc.topText()).contains("byte[]");
        assertThat(dir.resolve("alloc.html")).exists();
    }
}
