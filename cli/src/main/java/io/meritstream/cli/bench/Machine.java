package io.meritstream.cli.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the machine is doing: this process's CPU time and the system load, recorded beside every timing. */
public final class Machine {
    private Machine() {}

    /**
     * CPU time of this JVM (all threads) in nanoseconds. Unlike wall time it counts only this process's work, so ratios
     * of it hold when other processes share the cores.
     */
    public static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** The 1, 5 and 15 minute load averages ({@code /proc/loadavg}, or the JVM's 1 minute figure elsewhere). */
    public static double[] loadAverages() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return new double[] {
                Double.parseDouble(parts[0]), Double.parseDouble(parts[1]), Double.parseDouble(parts[2])
            };
        } catch (IOException | RuntimeException e) {
            double one = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            return new double[] {one, Double.NaN, Double.NaN};
        }
    }

    public static int cores() {
        return Runtime.getRuntime().availableProcessors();
    }
}
