package io.meritstream.cli.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.meritstream.inference.BatchOutput;
import io.meritstream.inference.WindowModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Timings in ONNX Runtime Java: the model per batch size, a MatMul peak, and the MoE block sparse vs dense. */
public final class OrtBench {
    private OrtBench() {}

    /**
     * The model at one batch size.
     *
     * @param audioSecondsPerWallSecond seconds of window audio the model turns over per second of wall time
     * @param audioSecondsPerCpuSecond the same per second of this process's CPU time (holds on a shared machine)
     */
    public record ModelPoint(
            int batch, Timing.Result timing, double audioSecondsPerWallSecond, double audioSecondsPerCpuSecond) {}

    /**
     * @param gateAgreement fraction of 20 ms frames where the SE and SER gates chose the same expert (NaN without
     *     experts), on the bench's synthetic speech
     */
    public record ModelResult(List<ModelPoint> points, double gateAgreement) {
        public ModelPoint best() {
            return points.stream()
                    .max((a, b) -> Double.compare(a.audioSecondsPerWallSecond(), b.audioSecondsPerWallSecond()))
                    .orElseThrow();
        }

        public ModelPoint at(int batch) {
            return points.stream().filter(p -> p.batch() == batch).findFirst().orElse(null);
        }
    }

    /**
     * Batches of {@code inputSamples}-long synthetic speech inputs through {@code model}, as the operator runs it; each
     * input counts as one window of {@code windowSeconds} of audio (a streaming encoder's input is shorter).
     */
    public static ModelResult model(
            WindowModel model, int[] batches, int inputSamples, double windowSeconds, Timing.Budget budget)
            throws Exception {
        List<ModelPoint> points = new ArrayList<>();
        double agreement = Double.NaN;
        double seconds = windowSeconds;
        for (int batch : batches) {
            float[][] input = new float[batch][];
            for (int b = 0; b < batch; b++) {
                input[b] = SyntheticSpeech.generate(inputSamples, 1000 + b);
            }
            BatchOutput[] last = new BatchOutput[1];
            Timing.Result t = Timing.measure(() -> last[0] = model.run(input), budget);
            points.add(new ModelPoint(
                    batch, t, batch * seconds / (t.wallMs() / 1000), batch * seconds / (t.cpuMs() / 1000)));
            agreement = gateAgreement(last[0]);
        }
        return new ModelResult(points, agreement);
    }

    static double gateAgreement(BatchOutput output) {
        if (output == null || output.routingSe() == null || output.routingSer() == null) {
            return Double.NaN;
        }
        long same = 0;
        long total = 0;
        for (int b = 0; b < output.routingSe().length; b++) {
            long[] se = output.routingSe()[b];
            long[] ser = output.routingSer()[b];
            for (int t = 0; t < Math.min(se.length, ser.length); t++) {
                same += se[t] == ser[t] ? 1 : 0;
                total++;
            }
        }
        return total == 0 ? Double.NaN : same / (double) total;
    }

    /**
     * One square size of the MatMul peak measurement.
     *
     * @param gflops per wall second
     * @param gflopsPerCpuSecond per second of this process's CPU time (holds on a shared machine)
     */
    public record MatMulPoint(int size, Timing.Result timing, double gflops, double gflopsPerCpuSecond) {}

    /**
     * ONNX Runtime's single-precision MatMul throughput for square products of each size, with {@code threads}
     * intra-op threads: the practical compute peak the model is judged against.
     */
    public static List<MatMulPoint> matMulPeak(int[] sizes, int threads, Timing.Budget budget) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<MatMulPoint> points = new ArrayList<>();
        for (int n : sizes) {
            try (OrtSession.SessionOptions options = sessionOptions(threads);
                    OrtSession session = env.createSession(MatMulGraph.model(n, n, n), options);
                    OnnxTensor a = randomTensor(env, new long[] {n, n}, 1);
                    OnnxTensor b = randomTensor(env, new long[] {n, n}, 2)) {
                Map<String, OnnxTensor> inputs = Map.of("A", a, "B", b);
                Timing.Result t = Timing.measure(
                        () -> {
                            try (OrtSession.Result r = session.run(inputs)) {
                                // closing frees C; the product itself is the work being timed
                            }
                        },
                        budget);
                double flops = MatMulGraph.flops(n, n, n);
                points.add(new MatMulPoint(n, t, flops / (t.wallMs() / 1000) / 1e9, flops / (t.cpuMs() / 1000) / 1e9));
            }
        }
        return points;
    }

    /** One gate-agreement level of the MoE block, sparse (top-1 union dispatch) vs dense (every expert). */
    public record MoePoint(double agreement, int frames, Timing.Result sparse, Timing.Result dense) {
        /** Sparse cost over dense cost, from CPU time (below 1: sparse is cheaper). */
        public double sparseOverDenseCpu() {
            return sparse.cpuMs() / dense.cpuMs();
        }

        public double sparseOverDenseWall() {
            return sparse.wallMs() / dense.wallMs();
        }
    }

    /**
     * Times {@code moe_sparse.onnx} against {@code moe_dense.onnx} (same weights, as {@code merit.bench --export-moe}
     * writes them) on each {@code moe_x_<agreement>.f32} input, alternately.
     */
    public static List<MoePoint> moe(Path dir, int threads, Timing.Budget budget) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<MoePoint> points = new ArrayList<>();
        try (OrtSession.SessionOptions options = sessionOptions(threads);
                OrtSession sparse =
                        env.createSession(dir.resolve("moe_sparse.onnx").toString(), options);
                OrtSession dense =
                        env.createSession(dir.resolve("moe_dense.onnx").toString(), options)) {
            long width =
                    ((ai.onnxruntime.TensorInfo) sparse.getInputInfo().get("x").getInfo()).getShape()[2];
            List<Path> inputs;
            try (var files = Files.list(dir)) {
                inputs = files.filter(p -> p.getFileName().toString().matches("moe_x_.*\\.f32"))
                        .sorted()
                        .toList();
            }
            for (Path file : inputs) {
                String name = file.getFileName().toString();
                double agreement = Double.parseDouble(name.substring("moe_x_".length(), name.length() - 4));
                FloatBuffer data = ByteBuffer.wrap(Files.readAllBytes(file))
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer();
                int frames = (int) (data.remaining() / width);
                try (OnnxTensor x = OnnxTensor.createTensor(env, data, new long[] {1, frames, width})) {
                    Map<String, OnnxTensor> in = Map.of("x", x);
                    Timing.Result[] t = Timing.measurePair(
                            () -> {
                                try (OrtSession.Result r = sparse.run(in)) {
                                    // timed: the dispatch and the experts
                                }
                            },
                            () -> {
                                try (OrtSession.Result r = dense.run(in)) {
                                    // timed: every expert on every frame
                                }
                            },
                            budget);
                    points.add(new MoePoint(agreement, frames, t[0], t[1]));
                }
            }
        }
        return points;
    }

    private static OrtSession.SessionOptions sessionOptions(int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        return options;
    }

    private static OnnxTensor randomTensor(OrtEnvironment env, long[] shape, long seed) throws OrtException {
        int n = (int) (shape[0] * shape[1]);
        FloatBuffer buf = ByteBuffer.allocateDirect(n * Float.BYTES)
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            buf.put((float) (random.nextDouble() - 0.5));
        }
        buf.rewind();
        return OnnxTensor.createTensor(env, buf, shape);
    }
}
