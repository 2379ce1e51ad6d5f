package io.meritstream.cli.bench;

/**
 * Repeats a call and reports the median wall time and the mean process-CPU time per call. The median wall time because
 * on a shared machine a few calls are slowed by other processes and the median ignores them; the mean CPU time because
 * the kernel accounts process CPU time in ticks (10 ms here), so one call's CPU time is quantised while the sum over
 * all calls is not.
 */
public final class Timing {
    private Timing() {}

    /** A call to time. */
    @FunctionalInterface
    public interface Call {
        void run() throws Exception;
    }

    /**
     * @param calls number of timed calls
     * @param wallMs median wall time per call
     * @param cpuMs mean process CPU time per call (all threads of this JVM, ORT's pool included)
     */
    public record Result(int calls, double wallMs, double cpuMs) {}

    /** How long to time: at least {@code minCalls} and {@code minSeconds}, at most {@code maxCalls}. */
    public record Budget(int warmup, int minCalls, double minSeconds, int maxCalls) {
        public Budget {
            if (warmup < 0 || minCalls < 1 || maxCalls < minCalls || minSeconds < 0) {
                throw new IllegalArgumentException(
                        "bad timing budget " + warmup + "/" + minCalls + "/" + minSeconds + "/" + maxCalls);
            }
        }
    }

    public static Result measure(Call call, Budget budget) throws Exception {
        for (int i = 0; i < budget.warmup(); i++) {
            call.run();
        }
        double[] wall = new double[budget.maxCalls()];
        double cpu = 0;
        long start = System.nanoTime();
        int n = 0;
        while (n < budget.maxCalls()
                && (n < budget.minCalls() || (System.nanoTime() - start) / 1e9 < budget.minSeconds())) {
            long c0 = Machine.processCpuNanos();
            long w0 = System.nanoTime();
            call.run();
            wall[n] = (System.nanoTime() - w0) / 1e6;
            cpu += (Machine.processCpuNanos() - c0) / 1e6;
            n++;
        }
        return new Result(n, Percentiles.of(java.util.Arrays.copyOf(wall, n)).median(), cpu / n);
    }

    /** Two calls timed alternately (A B, B A, ...), so that load from other processes hits both alike. */
    public static Result[] measurePair(Call a, Call b, Budget budget) throws Exception {
        for (int i = 0; i < budget.warmup(); i++) {
            a.run();
            b.run();
        }
        int max = budget.maxCalls();
        double[][] wall = new double[2][max];
        double[] cpu = new double[2];
        long start = System.nanoTime();
        int n = 0;
        while (n < max && (n < budget.minCalls() || (System.nanoTime() - start) / 1e9 < budget.minSeconds())) {
            for (int k = 0; k < 2; k++) {
                int which = (n % 2 == 0) ? k : 1 - k;
                Call call = which == 0 ? a : b;
                long c0 = Machine.processCpuNanos();
                long w0 = System.nanoTime();
                call.run();
                wall[which][n] = (System.nanoTime() - w0) / 1e6;
                cpu[which] += (Machine.processCpuNanos() - c0) / 1e6;
            }
            n++;
        }
        Result[] out = new Result[2];
        for (int k = 0; k < 2; k++) {
            out[k] = new Result(
                    n, Percentiles.of(java.util.Arrays.copyOf(wall[k], n)).median(), cpu[k] / n);
        }
        return out;
    }
}
