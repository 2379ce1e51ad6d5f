package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.meritstream.session.WindowRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Windows in, results out, with the committed tiny Sparse MERIT fixture in ONNX Runtime on a MiniCluster. */
class InferenceITCase {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    private static final int WINDOW = 48_000;

    /** Counts loads in this JVM (the MiniCluster's TaskManager runs here), to see that subtasks share a session. */
    static final class CountingLoader implements ModelLoader {
        static final AtomicInteger LOADS = new AtomicInteger();

        @Override
        public WindowModel load(ModelSpec spec) throws Exception {
            LOADS.incrementAndGet();
            return new OrtModelLoader().load(spec);
        }
    }

    private static List<WindowRequest> requests() {
        List<WindowRequest> out = new ArrayList<>();
        java.util.Random random = new java.util.Random(7);
        for (String session : List.of("call-1", "call-2")) {
            for (String channel : List.of("agent", "customer")) {
                for (int k = 0; k < 3; k++) {
                    WindowRequest r = new WindowRequest();
                    r.sessionId = session;
                    r.channel = channel;
                    r.windowIndex = k;
                    r.startSample = (long) k * 16_000 - 32_000;
                    r.hopSamples = 16_000;
                    r.samples = new float[WINDOW];
                    // The last window of each channel is a final, partial one: audio, then the windower's zeros.
                    r.validSamples = k == 2 ? 20_000 : WINDOW;
                    r.finalWindow = k == 2;
                    for (int i = 0; i < r.validSamples; i++) {
                        r.samples[i] = (float)
                                (0.2 * Math.sin(2 * Math.PI * 220 * i / 16000.0) + 0.05 * random.nextGaussian());
                    }
                    r.lastArrivalMs = 1_000L * k;
                    out.add(r);
                }
            }
        }
        return out;
    }

    @Test
    void windowsInResultsOutWithTheFixtureModel() throws Exception {
        Path fixture = Path.of(InferenceITCase.class
                .getResource("/fixtures/sparse_merit_fixture.onnx")
                .toURI());
        InferenceSettings settings = new InferenceSettings(
                new ModelSpec(fixture.toString(), InferenceDevice.CPU, false, 1, 1), 4, 20, 8, 120_000);
        CountingLoader.LOADS.set(0);

        // No Kryo: requests and results must travel as POJOs.
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        List<WindowRequest> requests = requests();
        DataStream<WindowRequest> windows = env.fromData(requests).rebalance();
        List<WindowResult> results = new ArrayList<>();
        Inference.apply(windows, settings, new CountingLoader())
                .executeAndCollect()
                .forEachRemaining(results::add);

        assertThat(results).hasSize(requests.size());
        assertThat(results.stream()
                        .map(r -> r.streamKey() + "#" + r.windowIndex)
                        .collect(Collectors.toSet()))
                .hasSize(requests.size());
        assertThat(CountingLoader.LOADS.get())
                .as("two subtasks, one TaskManager: one session")
                .isEqualTo(1);
        assertThat(SharedModelRegistry.shared().references(settings.model()))
                .as("released when the job ended")
                .isZero();

        int frames = (WINDOW - 400) / 320 + 1;
        Set<String> versions = results.stream().map(r -> r.modelVersion).collect(Collectors.toSet());
        assertThat(versions).containsExactly("sparse_merit_fixture 0.0.1-fixture");
        for (WindowResult r : results) {
            assertThat(r.failure).as(r.streamKey()).isNull();
            assertThat(r.windowSamples).isEqualTo(WINDOW);
            assertThat(r.validSamples).isEqualTo(r.windowIndex == 2 ? 20_000 : WINDOW);
            assertThat(r.finalWindow).isEqualTo(r.windowIndex == 2);
            assertThat(r.enhanced).hasSize(WINDOW);
            for (float v : r.enhanced) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            assertThat(r.emotionProbabilities).hasSize(4);
            double sum = 0;
            for (float p : r.emotionProbabilities) {
                assertThat(p).isBetween(0f, 1f);
                sum += p;
            }
            assertThat(sum).isCloseTo(1.0, within(1e-5));
            assertThat(r.routingSe).hasSize(3);
            assertThat(r.routingSer).hasSize(3);
            assertThat(Arrays.stream(r.routingSe).sum()).isEqualTo(frames);
            assertThat(Arrays.stream(r.routingSer).sum()).isEqualTo(frames);
        }
        // Different audio, different emotions: the model looked at each window (not one batch row for all).
        assertThat(results.stream()
                        .map(r -> Arrays.toString(r.emotionProbabilities))
                        .distinct()
                        .count())
                .isGreaterThan(1);
    }
}
