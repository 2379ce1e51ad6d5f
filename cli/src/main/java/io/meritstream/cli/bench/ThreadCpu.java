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
    /** CPU nanoseconds per thread id, with the thread's name, and the process total, at one moment. */
    public record Snapshot(Map<Long, String> names, Map<Long, Long> cpuNanos, long processNanos) {}

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
        return new Snapshot(names, cpu, Machine.processCpuNanos());
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
        if (processSpent > javaTotal) {
            groups.merge(NATIVE, processSpent - javaTotal, Long::sum);
        }
        List<Map.Entry<String, Long>> sorted = groups.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .collect(Collectors.toList());
        Map<String, Long> out = new LinkedHashMap<>();
        sorted.forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** Process CPU time outside the Java threads: ONNX Runtime's own thread pool, GC and JIT threads. */
    public static final String NATIVE = "native threads (ONNX Runtime intra-op pool, GC, JIT)";

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
