package io.meritstream.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.meritstream.cli.LogFileOwner;
import io.meritstream.inference.InferenceDevice;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Measures the model and the pipeline on this machine and prints ratios measured in one run: raw ONNX Runtime"
                    + " throughput per batch size, the full pipeline (embedded Kafka + Flink MiniCluster + the real job)"
                    + " with N real-time 16 kHz channels, pipeline_vs_raw, sparse_vs_dense, ort_vs_torch and"
                    + " percent_of_sgemm_peak.",
            "",
            "A channel keeps up when, after a warm-up, its emotion events arrive at >= 0.95 of the rate windows are"
                    + " produced, the p99 frame-to-event latency (first new frame of a window sent -> its event"
                    + " read from Kafka) is <= hop + 500 ms, and no window failed. The PyTorch side runs"
                    + " '/usr/bin/python3 -m merit.bench' from model/ as a subprocess.",
        })
public final class BenchCommand implements Callable<Integer>, LogFileOwner {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--model",
            paramLabel = "PATH",
            description = "Exported model (.onnx, its .json card beside it). Default: the model packaged with the job.")
    Path model;

    @Option(
            names = "--threads",
            paramLabel = "N",
            description = "ONNX Runtime intra-op threads, for the raw bench and the pipeline alike (default: cores).")
    Integer threads;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the JSON report here.")
    Path out;

    @Option(names = "--quick", description = "Shorter timings and levels: done in under 10 minutes on 2 cores.")
    boolean quick;

    @Option(
            names = "--device",
            paramLabel = "D",
            defaultValue = "cpu",
            description = "Where ONNX Runtime runs the model, for the raw bench and the pipeline: cpu, cuda or cuda:N"
                    + " (a build with -Pgpu on a GPU machine; no CPU fallback). Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(
            names = "--batch-sizes",
            split = ",",
            paramLabel = "B",
            description = "Raw ONNX Runtime batch sizes (default: 1,4,8,16,32 on the CPU, 1,2,4,...,256 on CUDA).")
    int[] batchSizes;

    @Option(
            names = "--channels",
            split = ",",
            paramLabel = "N",
            description = "Real-time channel counts to try, in order; stops at the first that falls behind"
                    + " (default: 16,24,32,48,64,96,128).")
    int[] channels = {16, 24, 32, 48, 64, 96, 128};

    @Option(
            names = "--spin-wait",
            description =
                    "ONNX Runtime's threads spin between the parallel parts of a call (inference.threads.spin-wait),"
                            + " for the raw bench and the pipeline alike; default: they sleep, as in the job.")
    boolean spinWait;

    @Option(
            names = "--profile",
            paramLabel = "DIR",
            description = "After the measurements, run the capacity backlog twice more under async-profiler and"
                    + " write CPU and allocation flame graphs (DIR/cpu.html, DIR/alloc.html) and their hottest frames"
                    + " (DIR/cpu-top.txt, DIR/alloc-top.txt).")
    Path profile;

    @Option(
            names = "--parallelism",
            paramLabel = "P",
            description = "Flink parallelism of the pipeline (default: 1; the model session is shared per JVM anyway).")
    int parallelism = 1;

    @Option(
            names = "--batch-max",
            paramLabel = "B",
            description = "inference.batch.max of the pipeline (default: the job's default).")
    Integer batchMax;

    @Option(
            names = "--delivery",
            paramLabel = "G",
            description =
                    "kafka.delivery-guarantee of every sink of the job (default: the job's own per-topic defaults,"
                            + " events and alerts at-least-once): exactly-once makes them visible only at checkpoints.")
    String delivery;

    @Option(names = "--skip-pipeline", description = "Leave out the Kafka + Flink part.")
    boolean skipPipeline;

    @Option(names = "--skip-python", description = "Leave out the PyTorch side (sparse_vs_dense, ort_vs_torch, flops).")
    boolean skipPython;

    @Option(
            names = "--work-dir",
            paramLabel = "DIR",
            description = "Scratch files (model copy, MoE graphs). Default: a new temporary directory.")
    Path workDir;

    @Override
    public Path logFile() {
        return out != null
                ? out.toAbsolutePath().resolveSibling(out.getFileName() + ".log")
                : Path.of(System.getProperty("java.io.tmpdir"), "merit-bench.log");
    }

    @Override
    public Integer call() throws Exception {
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1) {
            throw new ParameterException(spec.commandLine(), "--threads must be >= 1, got " + n);
        }
        boolean cuda;
        try {
            cuda = InferenceDevice.parse("--device", device).isCuda();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (batchSizes == null) {
            batchSizes = cuda ? new int[] {1, 2, 4, 8, 16, 32, 64, 128, 256} : new int[] {1, 4, 8, 16, 32};
        }
        if (profile != null && skipPipeline) {
            throw new ParameterException(spec.commandLine(), "--profile profiles the pipeline: drop --skip-pipeline");
        }
        if (Arrays.stream(batchSizes).anyMatch(b -> b < 1) || batchSizes.length == 0) {
            throw new ParameterException(spec.commandLine(), "--batch-sizes must be >= 1");
        }
        if (Arrays.stream(channels).anyMatch(c -> c < 1) || channels.length == 0) {
            throw new ParameterException(spec.commandLine(), "--channels must be >= 1");
        }
        if (parallelism < 1) {
            throw new ParameterException(spec.commandLine(), "--parallelism must be >= 1");
        }
        Path dir = workDir != null ? workDir : Files.createTempDirectory("merit-bench");
        PrintWriter err = spec.commandLine().getErr();
        BenchRunner.Options options = new BenchRunner.Options(
                model,
                n,
                quick,
                batchSizes,
                channels,
                parallelism,
                batchMax,
                skipPipeline,
                skipPython,
                delivery,
                dir,
                device,
                spinWait,
                profile,
                null, // timings and MatMul sizes as --quick says
                null);
        ObjectNode report = new BenchRunner(options, err).run();
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.print(table(report));
        stdout.flush();
        if (out != null) {
            if (out.toAbsolutePath().getParent() != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
            }
            Files.writeString(
                    out, BenchRunner.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n");
            err.println("bench: wrote " + out);
        }
        return 0;
    }

    /** The report as a terminal table: the headline ratios first, then the detail they come from. */
    static String table(JsonNode r) {
        StringBuilder s = new StringBuilder();
        JsonNode m = r.path("model");
        s.append(String.format(
                "model %s %s (%s), %d ORT threads, %d cores, load average %s -> %s%n",
                m.path("name").asText(),
                m.path("version").asText(),
                m.path("path").asText(),
                r.path("threads").asInt(),
                r.path("machine").path("cores").asInt(),
                r.path("machine").path("load_average_at_start"),
                r.path("machine").path("load_average_at_end")));
        s.append(String.format(
                "%nraw ONNX Runtime (%.0f s windows)%n",
                r.path("window_seconds").asDouble()));
        s.append(String.format(
                "%6s %10s %10s %14s %14s%n", "batch", "wall ms", "cpu ms", "audio s/wall s", "audio s/cpu s"));
        for (JsonNode b : r.path("raw_ort").path("batches")) {
            s.append(String.format(
                    "%6d %10.1f %10.1f %14.1f %14.1f%n",
                    b.path("batch").asInt(),
                    b.path("wall_ms").asDouble(),
                    b.path("cpu_ms").asDouble(),
                    b.path("audio_seconds_per_wall_second").asDouble(),
                    b.path("audio_seconds_per_cpu_second").asDouble()));
        }
        JsonNode levels = r.path("pipeline").path("levels");
        if (levels.size() > 0) {
            s.append(String.format("%npipeline, real time (hop 1 s)%n"));
            s.append(String.format(
                    "%8s %12s %12s %8s %8s %11s %11s %8s  %s%n",
                    "channels",
                    "in win/s",
                    "out ev/s",
                    "p50 ms",
                    "p99 ms",
                    "visible p50",
                    "visible p99",
                    "cores",
                    "keeps up"));
            for (JsonNode l : levels) {
                s.append(String.format(
                        "%8d %12.1f %12.1f %8.0f %8.0f %11.0f %11.0f %8.2f  %s%n",
                        l.path("channels").asInt(),
                        l.path("input_windows_per_second").asDouble(),
                        l.path("output_events_per_second").asDouble(),
                        l.path("latency_p50_ms").asDouble(),
                        l.path("latency_p99_ms").asDouble(),
                        l.path("event_visible_p50_ms").asDouble(),
                        l.path("event_visible_p99_ms").asDouble(),
                        l.path("cpu_cores_used").asDouble(),
                        l.path("keeps_up").asBoolean()
                                ? "yes"
                                : "no: " + l.path("why_not").asText()));
            }
        }
        JsonNode backlog = r.path("pipeline").path("backlog");
        if (!backlog.isMissingNode()) {
            s.append(String.format(
                    "pipeline capacity (backlog %d channels x %d s): %.1f windows/s = %.1f audio s/wall s, %.1f cpu"
                            + " ms/window%n",
                    backlog.path("channels").asInt(),
                    backlog.path("seconds_per_channel").asInt(),
                    backlog.path("windows_per_second").asDouble(),
                    backlog.path("audio_seconds_per_wall_second").asDouble(),
                    backlog.path("cpu_ms_per_window").asDouble()));
        }
        s.append(String.format("%n%-24s %s%n", "max_streams_realtime", text(r, "max_streams_realtime")));
        s.append(String.format(
                "%-24s %s / %s ms%n", "latency p50 / p99", text(r, "latency_p50_ms"), text(r, "latency_p99_ms")));
        s.append(String.format(
                "%-24s events %s / %s ms, alerts %s / %s ms (p50 / p99 at the first level)%n",
                "frame to visible",
                text(r, "event_visible_p50_ms"),
                text(r, "event_visible_p99_ms"),
                text(r, "alert_visible_p50_ms"),
                text(r, "alert_visible_p99_ms")));
        s.append(String.format(
                "%-24s %s (cpu %s)%n", "pipeline_vs_raw", text(r, "pipeline_vs_raw"), text(r, "pipeline_vs_raw_cpu")));
        s.append(String.format("%-24s %s%n", "sparse_vs_dense", text(r, "sparse_vs_dense")));
        s.append(String.format("%-24s %s%n", "ort_vs_torch", text(r, "ort_vs_torch")));
        s.append(String.format(
                "%-24s %s (model %s of peak %s GFLOP per cpu s; wall peak %s GFLOP/s)%n",
                "percent_of_sgemm_peak",
                text(r, "percent_of_sgemm_peak"),
                r.path("sgemm").path("model_gflops_per_cpu_second").asText("n/a"),
                r.path("sgemm").path("peak_gflops_per_cpu_second").asText(),
                r.path("sgemm").path("peak_gflops").asText()));
        for (JsonNode note : r.path("notes")) {
            s.append("note: ").append(note.asText()).append('\n');
        }
        return s.toString();
    }

    private static String text(JsonNode r, String field) {
        JsonNode n = r.path(field);
        return n.isMissingNode() || n.isNull() ? "n/a" : n.asText();
    }
}
