package io.meritstream.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.meritstream.inference.InferenceOptions;
import io.meritstream.inference.InferenceSettings;
import io.meritstream.inference.ModelCard;
import io.meritstream.inference.OrtModelLoader;
import io.meritstream.inference.WindowModel;
import io.meritstream.job.KafkaOptions;
import io.meritstream.job.KafkaSettings;
import io.meritstream.session.WindowingConfig;
import io.meritstream.speaker.ProsodyAnalyzer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * Runs the parts of {@code merit bench} in order and collects one JSON report. Every ratio in it is taken from
 * measurements of this run (DESIGN.md: benchmarks print ratios measured in one run).
 *
 * <ol>
 *   <li>raw ONNX Runtime: the model alone, per batch size, on 3 s windows;
 *   <li>the MatMul peak of ONNX Runtime on this machine and the model's flops ({@code percent_of_sgemm_peak});
 *   <li>the MoE block sparse vs dense ({@code sparse_vs_dense}) and PyTorch eager ({@code ort_vs_torch}), through
 *       {@code python3 -m merit.bench};
 *   <li>the pipeline: capacity from a backlog ({@code pipeline_vs_raw}) and the real-time channel sweep ({@code
 *       max_streams_realtime}, latencies).
 * </ol>
 */
public final class BenchRunner {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Targets from the issue, reported against (never asserted). */
    static final double TARGET_PIPELINE_VS_RAW = 0.9;

    static final int TARGET_CHANNELS = 80;

    /**
     * Everything the command line decides. {@code timingOverride} and {@code matmulSizes} are for tests: null (as the
     * command line passes them) lets the timings and the MatMul sizes follow {@code quick}.
     */
    public record Options(
            Path model,
            int threads,
            boolean quick,
            int[] batchSizes,
            int[] channels,
            int parallelism,
            Integer batchMax,
            boolean skipPipeline,
            boolean skipPython,
            String delivery,
            Path workDir,
            String device,
            boolean spinWait,
            Path profileDir,
            Timing.Budget timingOverride,
            int[] matmulSizes) {}

    private final Options options;
    private final PrintWriter progress;
    private final List<String> notes = new ArrayList<>();

    public BenchRunner(Options options, PrintWriter progress) {
        this.options = options;
        this.progress = progress;
    }

    public ObjectNode run() throws Exception {
        ObjectNode report = JSON.createObjectNode();
        report.put("bench", "merit bench");
        report.put("started_at", Instant.now().toString());
        report.put("quick", options.quick());
        report.put("threads", options.threads());
        report.put("device", options.device());
        report.put("spin_wait", options.spinWait());
        ObjectNode machine = report.putObject("machine");
        machine.put("cores", Machine.cores());
        machine.set("load_average_at_start", loads());
        machine.put("java", System.getProperty("java.version"));
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));

        Files.createDirectories(options.workDir());
        BenchModel model = BenchModel.resolve(options.model(), options.workDir());
        ModelCard card = model.readCard();
        ObjectNode modelNode = report.putObject("model");
        modelNode.put(
                "path",
                options.model() == null
                        ? OrtModelLoader.DEFAULT_MODEL_RESOURCE
                        : model.onnx().toString());
        modelNode.put("default", model.isDefault());
        modelNode.put("name", card.name());
        modelNode.put("version", card.version());
        modelNode.put("sha256", card.sha256());
        int windowSamples = (int) Math.round(card.windowSeconds() * card.sampleRate());
        double windowSeconds = windowSamples / (double) card.sampleRate();
        report.put("window_seconds", windowSeconds);
        report.put("hop_seconds", 1.0);

        // 1. Raw ONNX Runtime.
        step("raw ONNX Runtime, batch sizes " + Arrays.toString(options.batchSizes()));
        OrtBench.ModelResult raw;
        try (WindowModel windowModel =
                new OrtModelLoader().load(model.spec(options.threads(), options.device(), options.spinWait()))) {
            // A streaming model's encoder takes the hop and its context: one call per window, a third of the audio.
            int inputSamples = card.isStreaming() ? card.streaming().chunkSamples() : windowSamples;
            raw = OrtBench.model(windowModel, options.batchSizes(), inputSamples, windowSeconds, rawBudget());
        }
        ObjectNode rawNode = report.putObject("raw_ort");
        ArrayNode points = rawNode.putArray("batches");
        for (OrtBench.ModelPoint p : raw.points()) {
            ObjectNode n = points.addObject();
            n.put("batch", p.batch());
            n.put("calls", p.timing().calls());
            n.put("wall_ms", round(p.timing().wallMs(), 2));
            n.put("cpu_ms", round(p.timing().cpuMs(), 2));
            n.put("audio_seconds_per_wall_second", round(p.audioSecondsPerWallSecond(), 1));
            n.put("audio_seconds_per_cpu_second", round(p.audioSecondsPerCpuSecond(), 1));
        }
        rawNode.put("best_batch", raw.best().batch());
        rawNode.put("best_audio_seconds_per_wall_second", round(raw.best().audioSecondsPerWallSecond(), 1));
        rawNode.put("gate_agreement", round(raw.gateAgreement(), 3));

        // 1b. The speaker reference's prosody analysis, which the windower runs once per window, against the model.
        step("speaker-reference prosody analysis");
        float[] window = SyntheticSpeech.generate(windowSamples, 11);
        ProsodyAnalyzer analyzer = new ProsodyAnalyzer();
        // Its own budget: a long-running job analyses JIT-compiled code, and 200 warm-up windows take 0.3 s.
        Timing.Result prosody =
                Timing.measure(() -> analyzer.analyze(window, window.length), new Timing.Budget(200, 200, 0.5, 2000));
        double modelCpuPerWindow = raw.best().timing().cpuMs() / raw.best().batch();
        ObjectNode referenceNode = report.putObject("speaker_reference");
        referenceNode.put("model_takes_it", card.usesSpeakerReference());
        referenceNode.put("prosody_cpu_ms_per_window", round(prosody.cpuMs(), 3));
        referenceNode.put("model_cpu_ms_per_window", round(modelCpuPerWindow, 2));
        report.put("speaker_reference_cpu_share", round(prosody.cpuMs() / modelCpuPerWindow, 4));

        // 2. MatMul peak and the model's flops.
        step("ONNX Runtime MatMul peak");
        // Square sizes up to 2048, where MatMul reaches its plateau on this kind of machine (NOTES.md).
        int[] matmulSizes = options.matmulSizes() != null ? options.matmulSizes() : new int[] {512, 1024, 2048};
        List<OrtBench.MatMulPoint> matmul = OrtBench.matMulPeak(matmulSizes, options.threads(), matmulBudget());
        ObjectNode sgemm = report.putObject("sgemm");
        ArrayNode sizes = sgemm.putArray("sizes");
        double peak = 0;
        double peakCpu = 0;
        for (OrtBench.MatMulPoint p : matmul) {
            ObjectNode n = sizes.addObject();
            n.put("n", p.size());
            n.put("wall_ms", round(p.timing().wallMs(), 2));
            n.put("cpu_ms", round(p.timing().cpuMs(), 2));
            n.put("gflops", round(p.gflops(), 1));
            n.put("gflops_per_cpu_second", round(p.gflopsPerCpuSecond(), 1));
            peak = Math.max(peak, p.gflops());
            peakCpu = Math.max(peakCpu, p.gflopsPerCpuSecond());
        }
        sgemm.put("peak_gflops", round(peak, 1));
        sgemm.put("peak_gflops_per_cpu_second", round(peakCpu, 1));
        sgemm.put(
                "source",
                "one MatMul node, built in memory (MatMulGraph), float32, square sizes, " + options.threads()
                        + " intra-op threads");

        // 3. The Python side: MoE block export, PyTorch eager, flops.
        PythonSide.Availability python =
                options.skipPython() ? new PythonSide.Availability(null, "--skip-python") : PythonSide.locate();
        JsonNode torch = null;
        if (python.get().isEmpty()) {
            note("PyTorch side skipped: " + python.missingReason()
                    + "; sparse_vs_dense, ort_vs_torch and percent_of_sgemm_peak are null");
            report.putNull("sparse_vs_dense");
            report.putNull("ort_vs_torch");
        } else {
            PythonSide side = python.get().orElseThrow();
            torch = torchSide(side, model, report);
            moeSide(side, raw.gateAgreement(), report);
        }
        if (torch != null && torch.path("card_model").has("flops_per_window")) {
            double flopsPerWindow =
                    torch.path("card_model").path("flops_per_window").asDouble();
            OrtBench.ModelPoint best = raw.best();
            double modelGflops = flopsPerWindow * best.batch() / (best.timing().wallMs() / 1000) / 1e9;
            double modelGflopsCpu = 0;
            int bestCpuBatch = 0;
            for (OrtBench.ModelPoint p : raw.points()) {
                double g = flopsPerWindow * p.batch() / (p.timing().cpuMs() / 1000) / 1e9;
                if (g > modelGflopsCpu) {
                    modelGflopsCpu = g;
                    bestCpuBatch = p.batch();
                }
            }
            sgemm.put("model_flops_per_window", flopsPerWindow);
            sgemm.put("model_flops_source", "PyTorch-side count of the matrix products (merit/flops.py) of one window");
            sgemm.put("model_gflops_at_best_batch", round(modelGflops, 2));
            sgemm.put("model_gflops_per_cpu_second", round(modelGflopsCpu, 2));
            sgemm.put("model_best_cpu_batch", bestCpuBatch);
            // Per CPU second on both sides: the peak and the model are timed minutes apart, and on a shared machine
            // wall-time rates compare the load at those moments; CPU-time rates compare the work.
            report.put("percent_of_sgemm_peak", round(100 * modelGflopsCpu / peakCpu, 1));
            sgemm.put("percent_of_sgemm_peak_wall", round(100 * modelGflops / peak, 1));
        } else {
            report.putNull("percent_of_sgemm_peak");
        }

        // 4. The pipeline.
        if (options.skipPipeline()) {
            note("pipeline skipped (--skip-pipeline): pipeline_vs_raw and max_streams_realtime are null");
            report.putNull("pipeline_vs_raw");
            report.putNull("max_streams_realtime");
        } else {
            pipeline(model, raw, windowSeconds, report);
        }

        machine.set("load_average_at_end", loads());
        report.put("finished_at", Instant.now().toString());
        ArrayNode notesNode = report.putArray("notes");
        notes.forEach(notesNode::add);
        return report;
    }

    private JsonNode torchSide(PythonSide side, BenchModel model, ObjectNode report) {
        List<String> args = new ArrayList<>(List.of(
                "--json",
                "--card",
                model.card().toString(),
                "--threads",
                String.valueOf(options.threads()),
                "--reps",
                options.quick() ? "3" : "10",
                "--batches"));
        int[] batches = options.quick() ? new int[] {1, 8} : new int[] {1, 4, 8};
        for (int b : batches) {
            args.add(String.valueOf(b));
        }
        step("PyTorch eager via " + side.describe(args));
        ObjectNode node = report.putObject("ort_vs_torch_detail");
        node.put("command", side.describe(args));
        try {
            JsonNode torch = side.benchJson(args, 900);
            node.set("torch", torch);
            ArrayNode rows = node.putArray("batches");
            for (JsonNode row : torch.path("card_model").path("batches")) {
                ObjectNode n = rows.addObject();
                int b = row.path("batch").asInt();
                n.put("batch", b);
                n.put(
                        "torch_audio_seconds_per_wall_second",
                        row.path("audio_seconds_per_second").asDouble());
                n.put(
                        "torch_audio_seconds_per_cpu_second",
                        row.path("audio_seconds_per_cpu_second").asDouble());
                OrtBench.ModelPoint ort = rawPointFor(report, b);
                if (ort != null) {
                    n.put("ort_audio_seconds_per_wall_second", round(ort.audioSecondsPerWallSecond(), 1));
                    n.put("ort_audio_seconds_per_cpu_second", round(ort.audioSecondsPerCpuSecond(), 1));
                    // CPU-time ratio: the two runs happen minutes apart on a shared machine, wall time would compare
                    // the load, not the runtimes.
                    n.put(
                            "ort_over_torch_cpu",
                            round(
                                    ort.audioSecondsPerCpuSecond()
                                            / row.path("audio_seconds_per_cpu_second")
                                                    .asDouble(),
                                    2));
                }
            }
            JsonNode first = null;
            for (JsonNode n : rows) {
                if (n.has("ort_over_torch_cpu")) {
                    first = n;
                }
            }
            if (first == null) {
                report.putNull("ort_vs_torch");
            } else {
                report.put("ort_vs_torch", first.path("ort_over_torch_cpu").asDouble());
            }
            node.put(
                    "note",
                    "same architecture and config (the model card's); PyTorch with random weights (the card"
                            + " has none), which changes only sparse routing; ratio of audio seconds per CPU second, at the"
                            + " largest common batch size");
            return torch;
        } catch (Exception e) {
            node.put("skipped", e.getMessage());
            report.putNull("ort_vs_torch");
            note("ort_vs_torch skipped: " + e.getMessage());
            return null;
        }
    }

    private OrtBench.ModelPoint rawPointFor(ObjectNode report, int batch) {
        for (JsonNode n : report.path("raw_ort").path("batches")) {
            if (n.path("batch").asInt() == batch) {
                Timing.Result t = new Timing.Result(
                        n.path("calls").asInt(),
                        n.path("wall_ms").asDouble(),
                        n.path("cpu_ms").asDouble());
                return new OrtBench.ModelPoint(
                        batch,
                        t,
                        n.path("audio_seconds_per_wall_second").asDouble(),
                        n.path("audio_seconds_per_cpu_second").asDouble());
            }
        }
        return null;
    }

    private void moeSide(PythonSide side, double modelAgreement, ObjectNode report) {
        Path dir = options.workDir().resolve("moe");
        List<String> args = List.of("--export-moe", dir.toString());
        step("MoE block sparse vs dense: " + side.describe(args) + ", timed in ONNX Runtime Java");
        ObjectNode node = report.putObject("sparse_vs_dense_detail");
        node.put("export_command", side.describe(args));
        try {
            side.benchJson(args, 600);
            List<OrtBench.MoePoint> points = OrtBench.moe(dir, options.threads(), moeBudget());
            ArrayNode rows = node.putArray("agreements");
            OrtBench.MoePoint nearest = null;
            for (OrtBench.MoePoint p : points) {
                ObjectNode n = rows.addObject();
                n.put("gate_agreement", p.agreement());
                n.put("frames", p.frames());
                n.put("sparse_ms", round(p.sparse().wallMs(), 3));
                n.put("dense_ms", round(p.dense().wallMs(), 3));
                n.put("sparse_cpu_ms", round(p.sparse().cpuMs(), 3));
                n.put("dense_cpu_ms", round(p.dense().cpuMs(), 3));
                n.put("sparse_over_dense_cpu", round(p.sparseOverDenseCpu(), 3));
                n.put("ideal_sparse_over_dense", round((2 - p.agreement()) / 3, 3));
                if (nearest == null
                        || (!Double.isNaN(modelAgreement)
                                && Math.abs(p.agreement() - modelAgreement)
                                        < Math.abs(nearest.agreement() - modelAgreement))) {
                    nearest = p;
                }
            }
            if (nearest != null) {
                report.put("sparse_vs_dense", round(nearest.sparseOverDenseCpu(), 3));
                node.put("reported_at_agreement", nearest.agreement());
                node.put("model_gate_agreement", round(modelAgreement, 3));
            }
            node.put(
                    "note",
                    "MoE block alone (tiny sizes: 640 in, 256 hidden, 128 out, "
                            + (points.isEmpty() ? 0 : points.get(0).frames())
                            + " frames), top-1 sparse union dispatch vs dense (every expert),"
                            + " same weights; sparse_vs_dense is sparse CPU time / dense CPU time at the gate agreement"
                            + " nearest to the model's on the bench audio (below 1: sparse is cheaper)");
        } catch (Exception e) {
            node.put("skipped", e.getMessage());
            report.putNull("sparse_vs_dense");
            note("sparse_vs_dense skipped: " + e.getMessage());
        }
    }

    private void pipeline(BenchModel model, OrtBench.ModelResult raw, double windowSeconds, ObjectNode report)
            throws Exception {
        Configuration conf = new Configuration();
        conf.setString(InferenceOptions.MODEL_PATH.key(), model.onnx().toString());
        conf.set(InferenceOptions.INTRA_OP_THREADS, options.threads());
        conf.set(InferenceOptions.INTER_OP_THREADS, 1);
        conf.set(InferenceOptions.DEVICE, options.device());
        conf.set(InferenceOptions.SPIN_WAIT, options.spinWait());
        // Checkpoints to files, as bin/merit's jobs: from about 30 channels on, the windowers' ring buffers (192 KB per
        // channel) and the windows waiting for inference pass the JobManager's 5 MB in-memory checkpoint storage, and
        // three failed checkpoints in a row fail the job over; that, not the CPU, was the real-time limit measured
        // before (0 of 3 checkpoints completed at 32 channels, 1.4 of 2 cores busy).
        conf.setString("execution.checkpointing.storage", "filesystem");
        conf.setString(
                "execution.checkpointing.dir",
                options.workDir().resolve("checkpoints").toUri().toString());
        if (options.batchMax() != null) {
            conf.set(InferenceOptions.BATCH_MAX, options.batchMax());
            conf.set(InferenceOptions.ASYNC_CAPACITY, Math.max(options.batchMax() * 8, 64));
        }
        // The job's own delivery defaults unless --delivery says otherwise: the latency is what a consumer sees.
        if (options.delivery() != null) {
            conf.setString(KafkaOptions.DELIVERY_GUARANTEE.key(), options.delivery());
        }
        InferenceSettings inference = InferenceOptions.settings(conf); // validated as the job will
        WindowingConfig windowing = WindowingConfig.fromConfiguration(conf);
        PipelineBench.Settings settings =
                new PipelineBench.Settings(options.parallelism(), conf, windowing.hopSamples());
        ObjectNode node = report.putObject("pipeline");
        ObjectNode s = node.putObject("settings");
        s.put("parallelism", options.parallelism());
        s.put("batch_max", inference.batchMax());
        s.put("batch_timeout_ms", inference.batchTimeoutMs());
        s.put("async_capacity", inference.asyncCapacity());
        s.put("window_samples", windowing.windowSamples());
        s.put("hop_samples", windowing.hopSamples());
        s.put("job", "MeritStreamJob.fromConfiguration(options).build(env) on a MiniCluster, embedded Kafka");
        Configuration withBroker = new Configuration(conf);
        withBroker.set(KafkaOptions.BOOTSTRAP_SERVERS, "bench:9092"); // the bench's broker, not known yet
        KafkaSettings delivery = KafkaSettings.fromConfiguration(withBroker);
        s.put("delivery_events", delivery.emotionEventsDelivery().toString());
        s.put("delivery_alerts", delivery.emotionAlertsDelivery().toString());
        s.put("delivery_enhanced_audio", delivery.enhancedAudioDelivery().toString());
        s.put("frames", "16 kHz PCM16, 20 ms, sent in real time; channel starts spread over one hop");
        KeepsUpRule rule = KeepsUpRule.DEFAULT;
        ObjectNode r = node.putObject("keeps_up_rule");
        r.put("min_output_over_input_rate", rule.minRateRatio());
        r.put("max_p99_frame_to_event_latency_ms", "hop + " + rule.latencySlackMs());
        r.put("failed_windows", 0);
        r.put(
                "latency",
                "from the send of the first frame whose audio is new in a window to the arrival of that"
                        + " window's emotion event at a Kafka consumer");
        node.put(
                "visible_latency",
                "frame to visible: from the send of the last frame of a record's evidence (its window's end; an"
                        + " alert's trigger window) to its arrival at a read_committed consumer");

        step("pipeline: embedded Kafka + Flink MiniCluster");
        try (PipelineBench bench = PipelineBench.start(settings)) {
            // A short backlog first, thrown away: on 2 cores the JIT compiling Flink's, Kafka's and the job's code
            // takes most of the CPU for the first tens of seconds, and the first level would measure that instead.
            step("pipeline warm-up (JIT): backlog of 8 channels x 10 s, not measured");
            PipelineBench.Backlog warm = bench.backlog(8, 10, Duration.ofMinutes(3));
            node.putObject("jit_warmup").put("events", warm.events());
            // Then the real-time sweep, stopping at the first level that falls behind.
            // A new job per level: deployment, the model session and the Kafka source start within the warm-up, and a
            // loaded machine needs most of 15 s for that and to drain what queued meanwhile.
            Duration warmup = Duration.ofSeconds(options.quick() ? 15 : 20);
            Duration measure = Duration.ofSeconds(options.quick() ? 15 : 45);
            ArrayNode levels = node.putArray("levels");
            int best = 0;
            PipelineBench.Level bestLevel = null;
            for (int n : options.channels()) {
                step("pipeline real time: " + n + " channels, " + warmup.toSeconds() + " s warm-up + "
                        + measure.toSeconds() + " s measured");
                PipelineBench.Level level = bench.realtime(n, warmup, measure, rule);
                ObjectNode l = levels.addObject();
                l.put("channels", n);
                l.put("input_windows_per_second", round(level.inputWindowsPerSecond(), 2));
                l.put("output_events_per_second", round(level.outputEventsPerSecond(), 2));
                l.put("latency_p50_ms", round(level.latencyMs().median(), 0));
                l.put("latency_p99_ms", round(level.latencyMs().percentile(99), 0));
                l.put("latency_max_ms", round(level.latencyMs().max(), 0));
                l.put("event_visible_p50_ms", round(level.eventVisibleMs().median(), 0));
                l.put("event_visible_p99_ms", round(level.eventVisibleMs().percentile(99), 0));
                l.put("events_measured", level.latencyMs().count());
                if (level.alertVisibleMs().count() > 0) {
                    l.put("alert_visible_p50_ms", round(level.alertVisibleMs().median(), 0));
                    l.put("alert_visible_p99_ms", round(level.alertVisibleMs().percentile(99), 0));
                } else {
                    l.putNull("alert_visible_p50_ms");
                    l.putNull("alert_visible_p99_ms");
                }
                l.put("alerts_measured", level.alertVisibleMs().count());
                PipelineBench.Checkpoints cp = level.checkpoints();
                ObjectNode c = l.putObject("checkpoints");
                c.put("interval_ms", cp.intervalMs());
                c.put("completed", cp.completed());
                c.put("failed", cp.failed());
                c.put("p50_duration_ms", round(cp.p50DurationMs(), 0));
                c.put("max_duration_ms", cp.maxDurationMs());
                c.put("p50_state_bytes", cp.p50StateBytes());
                l.put("failed_windows", level.failedWindows());
                l.put("producer_max_lag_ms", round(level.producerMaxLagMs(), 1));
                l.put("cpu_cores_used", round(level.cpuCoresUsed(), 2));
                l.put("load_average", level.loadAverage());
                l.put("keeps_up", level.verdict().keepsUp());
                if (!level.verdict().keepsUp()) {
                    l.put("why_not", level.verdict().reason());
                }
                progress.printf(
                        "  %3d channels: %.1f/%.1f events/s, latency p50 %.0f ms p99 %.0f ms, visible p99 %.0f ms"
                                + " -> %s%n",
                        n,
                        level.outputEventsPerSecond(),
                        level.inputWindowsPerSecond(),
                        level.latencyMs().median(),
                        level.latencyMs().percentile(99),
                        level.eventVisibleMs().percentile(99),
                        level.verdict().keepsUp()
                                ? "keeps up"
                                : "behind: " + level.verdict().reason());
                progress.flush();
                if (!level.verdict().keepsUp()) {
                    break;
                }
                best = n;
                bestLevel = level;
            }
            report.put("max_streams_realtime", best);
            if (bestLevel != null) {
                report.put("latency_p50_ms", round(bestLevel.latencyMs().median(), 0));
                report.put("latency_p99_ms", round(bestLevel.latencyMs().percentile(99), 0));
            } else {
                report.putNull("latency_p50_ms");
                report.putNull("latency_p99_ms");
            }
            // What a supervisor's client sees at the first level (the lightest load).
            JsonNode first = levels.path(0);
            report.set("event_visible_p50_ms", first.path("event_visible_p50_ms"));
            report.set("event_visible_p99_ms", first.path("event_visible_p99_ms"));
            report.set("alert_visible_p50_ms", first.path("alert_visible_p50_ms"));
            report.set("alert_visible_p99_ms", first.path("alert_visible_p99_ms"));
            if (best == options.channels()[options.channels().length - 1]) {
                note("the pipeline kept up at every level tried (" + best + " channels): max_streams_realtime is a"
                        + " lower bound; pass larger --channels");
            }
            // Capacity last: a backlog the size of about 20 s of the model's work at the pipeline's batch size.
            OrtBench.ModelPoint ref = raw.at(inference.batchMax());
            if (ref == null) {
                ref = raw.best();
            }
            double rawWindowsPerSecond = ref.audioSecondsPerWallSecond() / windowSeconds;
            int backlogChannels = 32;
            int backlogSeconds = (int) Math.max(
                    10,
                    Math.min(
                            options.quick() ? 40 : 120,
                            rawWindowsPerSecond * (options.quick() ? 15 : 40) / backlogChannels));
            step("pipeline capacity: backlog of " + backlogChannels + " channels x " + backlogSeconds + " s");
            PipelineBench.Backlog backlog = bench.backlog(backlogChannels, backlogSeconds, Duration.ofMinutes(5));
            ObjectNode b = node.putObject("backlog");
            b.put("channels", backlog.channels());
            b.put("seconds_per_channel", backlog.seconds());
            b.put("events", backlog.events());
            b.put("windows_per_second", round(backlog.windowsPerSecond(), 2));
            double pipelineAudio = backlog.windowsPerSecond() * windowSeconds;
            b.put("audio_seconds_per_wall_second", round(pipelineAudio, 1));
            b.put("cpu_ms_per_window", round(backlog.cpuSecondsPerWindow() * 1000, 2));
            double vsRaw = pipelineAudio / ref.audioSecondsPerWallSecond();
            report.put("pipeline_vs_raw", round(vsRaw, 3));
            report.put("pipeline_vs_raw_batch", ref.batch());
            double rawCpuPerWindow = ref.timing().cpuMs() / ref.batch();
            report.put("pipeline_vs_raw_cpu", round(rawCpuPerWindow / (backlog.cpuSecondsPerWindow() * 1000), 3));
            ObjectNode cost = report.putObject("cost_per_window_cpu_ms");
            cost.put("model", round(rawCpuPerWindow, 2));
            cost.put("pipeline_total", round(backlog.cpuSecondsPerWindow() * 1000, 2));
            cost.put("pipeline_overhead", round(backlog.cpuSecondsPerWindow() * 1000 - rawCpuPerWindow, 2));
            cost.put(
                    "note",
                    "process CPU per 3 s window: the model alone at batch " + ref.batch() + " vs the whole"
                            + " pipeline (broker, Flink, decode, window, infer, analyse, serialise) working through a backlog;"
                            + " channels at hop 1 s need one window per channel per second");
            ObjectNode byThread = cost.putObject("pipeline_by_thread");
            for (Map.Entry<String, Double> e : backlog.cpuMsPerWindowByThread().entrySet()) {
                if (e.getValue() >= 0.5) { // the rest is noise: timers, metrics, idle clients
                    byThread.put(e.getKey(), round(e.getValue(), 1));
                }
            }
            cost.put("channels_model_alone_wall", round(rawWindowsPerSecond * 1.0, 1));
            cost.put("channels_pipeline_backlog_wall", round(backlog.windowsPerSecond() * 1.0, 1));
            if (options.profileDir() != null) {
                profile(bench, backlogChannels, backlogSeconds, node);
            }
        }
        ObjectNode targets = report.putObject("targets");
        targets.put("pipeline_vs_raw_min", TARGET_PIPELINE_VS_RAW);
        targets.put("pipeline_vs_raw_met", report.path("pipeline_vs_raw").asDouble() >= TARGET_PIPELINE_VS_RAW);
        targets.put("channels_min", TARGET_CHANNELS);
        targets.put("channels_met", report.path("max_streams_realtime").asInt() >= TARGET_CHANNELS);
        targets.put("cores", Machine.cores());
    }

    /**
     * Flame graphs of the same backlog, run again under the profiler (after the measurement, so that sampling does not
     * change the numbers): CPU, then allocations.
     */
    private void profile(PipelineBench bench, int channels, int seconds, ObjectNode node) throws Exception {
        Profiler profiler = Profiler.load();
        ObjectNode p = node.putObject("profile");
        p.put("workload", "backlog of " + channels + " channels x " + seconds + " s, as the capacity measurement");
        for (Profiler.Kind kind : Profiler.Kind.values()) {
            step("profile (" + kind.file + "): backlog of " + channels + " channels x " + seconds + " s");
            Profiler.Result result = profiler.profile(
                    kind, options.profileDir(), () -> bench.backlog(channels, seconds, Duration.ofMinutes(5)));
            ObjectNode k = p.putObject(kind.file);
            k.put("flame_graph", result.flameGraph().toString());
            k.put("top", result.top().toString());
            progress.printf("  flame graph %s%n%s%n", result.flameGraph(), result.topText());
            progress.flush();
        }
    }

    private Timing.Budget rawBudget() {
        if (options.timingOverride() != null) {
            return options.timingOverride();
        }
        return options.quick() ? new Timing.Budget(1, 3, 2.0, 50) : new Timing.Budget(2, 5, 8.0, 200);
    }

    private Timing.Budget matmulBudget() {
        if (options.timingOverride() != null) {
            return options.timingOverride();
        }
        return options.quick() ? new Timing.Budget(1, 3, 1.0, 50) : new Timing.Budget(2, 5, 3.0, 200);
    }

    private Timing.Budget moeBudget() {
        if (options.timingOverride() != null) {
            return options.timingOverride();
        }
        return options.quick() ? new Timing.Budget(2, 10, 2.0, 200) : new Timing.Budget(3, 20, 4.0, 400);
    }

    private void step(String what) {
        progress.println("bench: " + what);
        progress.flush();
    }

    private void note(String note) {
        notes.add(note);
        progress.println("bench: note: " + note);
        progress.flush();
    }

    private static ArrayNode loads() {
        ArrayNode node = JSON.createArrayNode();
        for (double l : Machine.loadAverages()) {
            node.add(l);
        }
        return node;
    }

    static double round(double value, int digits) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return value;
        }
        double scale = Math.pow(10, digits);
        return Math.round(value * scale) / scale;
    }
}
