package io.meritstream.cli.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import one.profiler.AsyncProfiler;

/**
 * Flame graphs of this JVM with async-profiler (its Java API from Maven Central, which carries the native agent): CPU
 * samples of every thread, Java and native frames, or allocation samples. The bench runs the whole pipeline (broker,
 * Flink, the job, ONNX Runtime) in its own JVM, so one profile shows where a window's time goes.
 */
final class Profiler {
    /** What a profile samples. */
    enum Kind {
        /** CPU time, every 10 ms of it, through perf events where the kernel allows, else timers. */
        CPU("cpu", "event=cpu,interval=10ms"),
        /** Heap allocations, a sample every 512 KiB allocated. */
        ALLOC("alloc", "event=alloc,alloc=512k");

        final String file;
        final String arguments;

        Kind(String file, String arguments) {
            this.file = file;
            this.arguments = arguments;
        }
    }

    /** A finished profile: the flame graph (HTML), the hottest frames as text, and those frames' report lines. */
    record Result(Path flameGraph, Path top, String topText) {}

    private final AsyncProfiler profiler;

    private Profiler(AsyncProfiler profiler) {
        this.profiler = profiler;
    }

    /** The profiler of this JVM; fails with the reason when its native agent cannot load here. */
    static Profiler load() {
        try {
            return new Profiler(AsyncProfiler.getInstance());
        } catch (Throwable e) { // UnsatisfiedLinkError on an unsupported platform
            throw new IllegalStateException("async-profiler cannot load in this JVM: " + e, e);
        }
    }

    /** Profiles {@code work} and writes {@code <dir>/<kind>.html} and {@code <dir>/<kind>-top.txt}. */
    Result profile(Kind kind, Path dir, Work work) throws Exception {
        Files.createDirectories(dir);
        Path html = dir.resolve(kind.file + ".html").toAbsolutePath();
        Path top = dir.resolve(kind.file + "-top.txt").toAbsolutePath();
        profiler.execute("start," + kind.arguments);
        try {
            work.run();
        } finally {
            profiler.execute("stop,file=" + html + ",title=merit bench: " + kind.file);
        }
        String text = profiler.dumpFlat(25);
        Files.writeString(top, text);
        return new Result(html, top, text);
    }

    /** The profiled work. */
    interface Work {
        void run() throws Exception;
    }
}
