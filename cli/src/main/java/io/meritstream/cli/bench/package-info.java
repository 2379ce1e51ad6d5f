/**
 * {@code merit bench}: measures the model and the whole pipeline on this machine and reports ratios measured in one run.
 *
 * <h2>What is measured</h2>
 *
 * <ul>
 *   <li>{@code raw_ort}: the model as the inference operator calls it ({@code WindowModel.run}, ONNX Runtime Java,
 *       {@code --threads} intra-op threads) on synthetic 3 s speech windows, per batch size: median wall time, mean
 *       process CPU time, audio seconds per wall second and per CPU second.
 *   <li>{@code pipeline.backlog}: the real job ({@code MeritStreamJob.fromConfiguration}) on an embedded Kafka broker and
 *       a Flink MiniCluster working through channels put into Kafka beforehand: its capacity in windows per second.
 *       {@code pipeline_vs_raw} is that capacity (in audio seconds per wall second) over the raw model's at the
 *       pipeline's {@code inference.batch.max}; {@code pipeline_vs_raw_cpu} is the same from CPU time per window.
 *   <li>{@code pipeline.levels}: N channels of 16 kHz PCM16 sent in 20 ms frames at real-time rate (channel starts
 *       spread over one hop), N increasing until one level falls behind. {@code max_streams_realtime} is the largest N
 *       that keeps up by {@link io.meritstream.cli.bench.KeepsUpRule}: event rate at least 0.95 of the window rate, p99
 *       frame-to-event latency at most hop + 500 ms, no failed window. Frame-to-event latency runs from the send of the
 *       first frame whose audio is new in a window to the arrival of that window's emotion event at a Kafka consumer.
 *   <li>{@code sparse_vs_dense}: the MoE block alone, top-1 sparse dispatch over dense (every expert), CPU time, from
 *       the graphs {@code python3 -m merit.bench --export-moe} writes, timed here in ONNX Runtime Java, at the gate
 *       agreement nearest to the model's own on the bench audio.
 *   <li>{@code ort_vs_torch}: audio seconds per CPU second of ONNX Runtime Java over PyTorch eager ({@code python3 -m
 *       merit.bench --card}, same config, random weights) at the largest common batch size.
 *   <li>{@code percent_of_sgemm_peak}: the model's GFLOP per CPU second (matrix products counted on the PyTorch side,
 *       {@code model/merit/flops.py}) over a single MatMul graph's ({@link io.meritstream.cli.bench.MatMulGraph}).
 * </ul>
 *
 * Ratios come from CPU time where the two sides are timed at different moments: the machine may be shared, and wall
 * time would then compare the load. Every report records the load average at start and end and per pipeline level.
 */
package io.meritstream.cli.bench;
