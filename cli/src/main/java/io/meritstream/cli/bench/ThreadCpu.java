package io.meritstream.cli.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * CPU time per Java thread of this JVM, grouped by what the thread does (Flink names its task threads after the chained
 * operators, Kafka names its broker and client threads), so a report can say which part of the pipeline costs what.
 * Threads outside the JVM's view — ONNX Runtime's intra-op pool, the garbage collector, the JIT — are the process CPU
 * time that no Java thread accounts for.
 */
public final class ThreadCpu {
    /**
     * CPU nanoseconds per thread id, with the thread's name, and the process total, at one moment; and the JVM's own
     * native threads (garbage collector, JIT compilers, VM thread) by kind, from {@code /proc/self/task}.
     */
    public record Snapshot(
            Map<Long, String> names, Map<Long, Long> cpuNanos, long processNanos, Map<String, Long> jvmNanos) {}

    private ThreadCpu() {}

    public static Snapshot take() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<Long, String> names = new HashMap<>();
        Map<Long, Long> cpu = new HashMap<>();
        long[] ids = threads.getAllThreadIds();
        ThreadInfo[] infos = threads.getThreadInfo(ids);
        for (int i = 0; i < ids.length; i++) {
            long nanos = threads.isThreadCpuTimeSupported() ? threads.getThreadCpuTime(ids[i]) : -1;
            if (infos[i] != null && nanos >= 0) {
                names.put(ids[i], infos[i].getThreadName());
                cpu.put(ids[i], nanos);
            }
        }
        return new Snapshot(names, cpu, Machine.processCpuNanos(), jvmThreads());
    }

    /** Kinds of the JVM's own threads, by the OS thread name HotSpot gives them. */
    private static final Map<String, String> JVM_THREADS = new LinkedHashMap<>();

    static {
        JVM_THREADS.put("GC Thread", "JVM: garbage collector");
        JVM_THREADS.put("G1 ", "JVM: garbage collector");
        JVM_THREADS.put("C2 CompilerThre", "JVM: JIT compiler");
        JVM_THREADS.put("C1 CompilerThre", "JVM: JIT compiler");
        JVM_THREADS.put("VM Thread", "JVM: VM thread");
    }

    private static final long NANOS_PER_TICK = 10_000_000L; // USER_HZ 100 on Linux

    /** CPU time of the JVM's native threads per kind; empty where {@code /proc} is not there. */
    static Map<String, Long> jvmThreads() {
        Map<String, Long> out = new HashMap<>();
        java.nio.file.Path tasks = java.nio.file.Path.of("/proc/self/task");
        try (var dirs = java.nio.file.Files.list(tasks)) {
            for (java.nio.file.Path task : (Iterable<java.nio.file.Path>) dirs::iterator) {
                try {
                    String comm =
                            java.nio.file.Files.readString(task.resolve("comm")).trim();
                    String kind = null;
                    for (Map.Entry<String, String> e : JVM_THREADS.entrySet()) {
                        if (comm.startsWith(e.getKey())) {
                            kind = e.getValue();
                            break;
                        }
                    }
                    if (kind == null) {
                        continue;
                    }
                    String stat = java.nio.file.Files.readString(task.resolve("stat"));
                    // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    out.merge(kind, ticks * NANOS_PER_TICK, Long::sum);
                } catch (java.io.IOException | RuntimeException e) {
                    // The thread ended while we looked: it no longer counts.
                }
            }
        } catch (java.io.IOException e) {
            return Map.of();
        }
        return out;
    }

    /**
     * CPU nanoseconds spent between two snapshots per thread group, largest first; the process time no Java thread
     * accounts for is the group {@link #NATIVE}.
     */
    public static Map<String, Long> between(Snapshot before, Snapshot after) {
        Map<String, Long> groups = new HashMap<>();
        long javaTotal = 0;
        for (Map.Entry<Long, Long> e : after.cpuNanos().entrySet()) {
            long spent = e.getValue() - before.cpuNanos().getOrDefault(e.getKey(), 0L);
            if (spent <= 0) {
                continue;
            }
            javaTotal += spent;
            groups.merge(group(after.names().get(e.getKey())), spent, Long::sum);
        }
        long processSpent = after.processNanos() - before.processNanos();
        long nativeSpent = processSpent - javaTotal;
        for (Map.Entry<String, Long> e : after.jvmNanos().entrySet()) {
            long spent = e.getValue() - before.jvmNanos().getOrDefault(e.getKey(), 0L);
            if (spent > 0) {
                groups.merge(e.getKey(), spent, Long::sum);
                nativeSpent -= spent;
            }
        }
        if (nativeSpent > 0) {
            groups.merge(NATIVE, nativeSpent, Long::sum);
        }
        List<Map.Entry<String, Long>> sorted = groups.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .collect(Collectors.toList());
        Map<String, Long> out = new LinkedHashMap<>();
        sorted.forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /**
     * Process CPU time outside the Java threads and the JVM's own: ONNX Runtime's intra-op pool, and threads that ended
     * between the snapshots.
     */
    public static final String NATIVE = "other native threads (ONNX Runtime intra-op pool) and ended threads";

    /**
     * A thread's group: its name without subtask index, attempt and instance numbers, e.g. {@code "Source: x -> y
     * (1/2)#0"} → {@code "Source: x -> y"}, {@code "data-plane-kafka-request-handler-3"} → {@code
     * "data-plane-kafka-request-handler"}.
     */
    static String group(String name) {
        if (name == null) {
            return "?";
        }
        String g = name.replaceAll("\\s*\\(\\d+/\\d+\\)(#\\d+)?$", "");
        g = g.replaceAll("[-_#\\s]*\\d+$", "");
        // Kafka client threads end in " | <client id>", one per client: the group is the thread's role.
        g = g.replaceAll("\\s*\\|.*$", "").trim();
        return g.isEmpty() ? name : g;
    }
}
