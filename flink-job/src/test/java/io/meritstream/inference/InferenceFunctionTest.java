package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.meritstream.avro.WindowFlag;
import io.meritstream.session.WindowRequest;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.operators.async.AsyncWaitOperatorFactory;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The async function in Flink's async operator (test harness), with fake models. */
class InferenceFunctionTest {
    private static final AtomicInteger SPEC_IDS = new AtomicInteger();

    /** A spec of its own per test, so tests never share a session through the JVM-wide registry. */
    private static InferenceSettings settings(int batchMax, long batchTimeoutMs, long asyncTimeoutMs) {
        ModelSpec spec =
                new ModelSpec("fake-" + SPEC_IDS.incrementAndGet() + ".onnx", InferenceDevice.CPU, false, 1, 1);
        return new InferenceSettings(spec, batchMax, batchTimeoutMs, 16, asyncTimeoutMs);
    }

    static WindowRequest request(String session, long index, float value, int length) {
        WindowRequest r = new WindowRequest();
        r.sessionId = session;
        r.channel = "customer";
        r.windowIndex = index;
        r.startSample = index * 16000 - 32000;
        r.hopSamples = 16000;
        r.samples = new float[length];
        Arrays.fill(r.samples, value);
        r.validSamples = length - 100;
        r.finalWindow = index == 2;
        r.flags = new WindowFlag[] {WindowFlag.GAP_FILLED};
        r.lastArrivalMs = 1_700_000_000_000L + index;
        r.streamStartMs = 1_700_000_000_000L;
        return r;
    }

    private static OneInputStreamOperatorTestHarness<WindowRequest, WindowResult> harness(
            InferenceFunction function, InferenceSettings s) throws Exception {
        return new OneInputStreamOperatorTestHarness<>(
                new AsyncWaitOperatorFactory<>(
                        function, s.asyncTimeoutMs(), s.asyncCapacity(), AsyncDataStream.OutputMode.UNORDERED),
                TypeInformation.of(WindowRequest.class).createSerializer(new SerializerConfigImpl()));
    }

    private static List<WindowResult> byIndex(List<WindowResult> results) {
        return results.stream()
                .sorted(Comparator.comparingLong(r -> r.windowIndex))
                .toList();
    }

    @Test
    void onAGpuTheSubtasksOfATaskManagerFillOneBatchTogether() throws Exception {
        ModelSpec gpu =
                new ModelSpec("fake-" + SPEC_IDS.incrementAndGet() + ".onnx", InferenceDevice.cuda(0), false, 1, 1);
        // Batches of 4, formed only when full (or at the end of input): two subtasks of 2 windows each share one.
        InferenceSettings s = new InferenceSettings(gpu, 4, 60_000, 16, 120_000);
        FakeWindowModel model = new FakeWindowModel("fake gpu");
        ModelLoader loader = spec -> model;
        try (var first = harness(new InferenceFunction(s, loader), s);
                var second = harness(new InferenceFunction(s, loader), s)) {
            first.open();
            second.open();
            first.processElement(request("s1", 0, 1, 48000), 0);
            first.processElement(request("s1", 1, 2, 48000), 1);
            second.processElement(request("s2", 0, 3, 48000), 0);
            second.processElement(request("s2", 1, 4, 48000), 1);
            first.endInput();
            second.endInput();
            assertThat(model.batchSizes()).containsExactly(4);
            assertThat(first.extractOutputValues())
                    .extracting(r -> r.sessionId)
                    .containsOnly("s1")
                    .hasSize(2);
            assertThat(second.extractOutputValues())
                    .extracting(r -> r.sessionId)
                    .containsOnly("s2")
                    .hasSize(2);
            assertThat(model.closed).isFalse();
        }
        assertThat(model.closed).as("closed with the last subtask").isTrue();
    }

    @Test
    void everyWindowGetsItsResultWithProbabilitiesAndRoutingHistograms() throws Exception {
        InferenceSettings s = settings(2, 5, 60_000);
        FakeWindowModel model = new FakeWindowModel("fake 2.0");
        InferenceFunction fn = new InferenceFunction(s, spec -> model);
        List<WindowResult> results;
        try (var h = harness(fn, s)) {
            h.open();
            for (int i = 0; i < 3; i++) {
                h.processElement(request("s1", i, i + 1, 48000), i);
            }
            h.endInput();
            results = byIndex(h.extractOutputValues());
        }
        assertThat(model.closed).as("closed with its last lease").isTrue();
        assertThat(results).hasSize(3);
        int frames = (48000 - 400) / 320 + 1;
        for (int i = 0; i < 3; i++) {
            WindowResult r = results.get(i);
            WindowRequest in = request("s1", i, i + 1, 48000);
            assertThat(r.failure).isNull();
            assertThat(r.sessionId).isEqualTo("s1");
            assertThat(r.channel).isEqualTo("customer");
            assertThat(r.windowIndex).isEqualTo(i);
            assertThat(r.startSample).isEqualTo(in.startSample);
            assertThat(r.windowSamples).isEqualTo(48000);
            assertThat(r.hopSamples).isEqualTo(16000);
            assertThat(r.validSamples).isEqualTo(47900);
            assertThat(r.finalWindow).isEqualTo(i == 2);
            assertThat(r.flags).containsExactly(WindowFlag.GAP_FILLED);
            assertThat(r.lastArrivalMs).isEqualTo(in.lastArrivalMs);
            assertThat(r.modelVersion).isEqualTo("fake 2.0");
            assertThat(r.enhanced).hasSize(48000).containsOnly(2f * (i + 1));
            // logits (v, 0, 0, 0) -> softmax
            double z = Math.exp(i + 1) + 3;
            assertThat(r.emotionProbabilities[0]).isCloseTo((float) (Math.exp(i + 1) / z), within(1e-6f));
            assertThat(r.emotionProbabilities[1]).isCloseTo((float) (1 / z), within(1e-6f));
            // The fake routes frame f to expert f mod 3 (SE) and (f + 1) mod 3 (SER): 149 frames = 50 + 50 + 49.
            assertThat(r.routingSe).containsExactly(50, 50, 49);
            assertThat(r.routingSer).containsExactly(49, 50, 50);
            assertThat(Arrays.stream(r.routingSe).sum()).isEqualTo(frames);
        }
        assertThat(fn.failedWindows()).isZero();
    }

    @Test
    void aBatchThatFailsTwiceBecomesFailedResultsAndTheJobGoesOn() throws Exception {
        InferenceSettings s = settings(2, 5, 60_000);
        FakeWindowModel model = new FakeWindowModel();
        model.failNextCalls.set(2);
        InferenceFunction fn = new InferenceFunction(s, spec -> model);
        List<WindowResult> results;
        try (var h = harness(fn, s)) {
            h.open();
            h.processElement(request("s1", 0, 1, 16000), 0);
            h.processElement(request("s1", 1, 2, 16000), 1);
            h.endInput();
            h.processElement(request("s1", 2, 3, 16000), 2);
            h.endInput();
            results = byIndex(h.extractOutputValues());
            assertThat(fn.failedWindows()).isEqualTo(2);
        }
        assertThat(results).hasSize(3);
        for (WindowResult failed : results.subList(0, 2)) {
            assertThat(failed.failed()).isTrue();
            assertThat(failed.failure)
                    .startsWith("inference failed 2 times for a batch of 2 windows")
                    .contains("fake model failure");
            assertThat(failed.enhanced).isNull();
            assertThat(failed.emotionProbabilities).isNull();
            assertThat(failed.modelVersion).isEqualTo("fake 1.0");
        }
        assertThat(results.get(2).failed()).isFalse();
        assertThat(results.get(2).enhanced).containsOnly(6f);
    }

    @Test
    void aModelThatNeverRunsFailsTheJobAfterTheLimitOfFailedBatchesInARow() throws Exception {
        InferenceSettings one = settings(1, 0, 60_000);
        InferenceSettings s = new InferenceSettings(one.model(), 1, 0, 0, 16, 60_000, 3);
        FakeWindowModel model = new FakeWindowModel();
        model.failNextCalls.set(Integer.MAX_VALUE); // a sticky error: every call fails
        InferenceFunction fn = new InferenceFunction(s, spec -> model);
        try (var h = harness(fn, s)) {
            h.getEnvironment().setExpectedExternalFailureCause(Throwable.class); // how an operator fails its task
            h.open();
            for (int i = 0; i < 2; i++) {
                h.processElement(request("s1", i, 1, 16000), i);
                h.endInput(); // one window, one batch, in this order
            }
            h.processElement(request("s1", 2, 1, 16000), 2);
            // A failed task never drains its queue, so wait for the failure rather than the end of input.
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (h.getEnvironment().getActualExternalFailureCause().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(byIndex(h.extractOutputValues()))
                    .as("the first two batches become failed windows, as single failures do")
                    .hasSize(2)
                    .allMatch(WindowResult::failed);
            assertThat(h.getEnvironment().getActualExternalFailureCause())
                    .as("the third fails the job")
                    .hasValueSatisfying(cause -> assertThat(cause)
                            .hasStackTraceContaining("3 model batches in a row failed (limit 3, option"
                                    + " 'inference.fail-after-failed-batches')")
                            .hasStackTraceContaining("fake model failure"));
        }
    }

    @Test
    void aSuccessResetsTheCountOfFailedBatches() throws Exception {
        InferenceSettings one = settings(1, 0, 60_000);
        InferenceSettings s = new InferenceSettings(one.model(), 1, 0, 0, 16, 60_000, 2);
        FakeWindowModel model = new FakeWindowModel();
        InferenceFunction fn = new InferenceFunction(s, spec -> model);
        try (var h = harness(fn, s)) {
            h.getEnvironment().setExpectedExternalFailureCause(Throwable.class);
            h.open();
            for (int i = 0; i < 6; i++) {
                model.failNextCalls.set(i % 2 == 0 ? 2 : 0); // fail, succeed, fail, succeed, ...
                h.processElement(request("s1", i, 1, 16000), i);
                h.endInput();
            }
            assertThat(h.extractOutputValues()).hasSize(6);
            assertThat(h.getEnvironment().getActualExternalFailureCause()).isEmpty();
        }
    }

    @Test
    void aTimedOutWindowBecomesAFailedResultInsteadOfFailingTheJob() throws Exception {
        InferenceSettings s = settings(1, 0, 1_000);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch running = new CountDownLatch(1);
        FakeWindowModel model = new FakeWindowModel() {
            @Override
            void beforeRun(float[][] batch) throws Exception {
                running.countDown();
                release.await();
            }
        };
        InferenceFunction fn = new InferenceFunction(s, spec -> model);
        List<WindowResult> results;
        try (var h = harness(fn, s)) {
            h.open();
            h.setProcessingTime(0);
            h.processElement(request("s1", 0, 1, 16000), 0);
            assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
            // Flink's timer calls timeout(); the result the model delivers later is dropped.
            h.setProcessingTime(1_001);
            release.countDown();
            h.endInput();
            results = h.extractOutputValues();
            assertThat(fn.failedWindows()).isEqualTo(1);
        }
        assertThat(results).singleElement().satisfies(r -> {
            assertThat(r.failure).isEqualTo("inference timed out after 1000 ms (option 'inference.async.timeout-ms')");
            assertThat(r.windowIndex).isZero();
        });
    }

    @Test
    void aModelWithOtherClassesIsRejectedAtOpen() throws Exception {
        InferenceSettings s = settings(1, 0, 1_000);
        FakeWindowModel model = new FakeWindowModel() {
            @Override
            public List<String> classes() {
                return List.of("neutral", "happy", "sad", "angry");
            }
        };
        InferenceFunction fn = new InferenceFunction(s, spec -> model);
        var h = harness(fn, s);
        org.assertj.core.api.Assertions.assertThatThrownBy(h::open)
                .hasMessageContaining("has emotion classes [neutral, happy, sad, angry] but the job expects"
                        + " [angry, sad, happy, neutral]");
        assertThat(SharedModelRegistry.shared().references(s.model())).isZero();
        assertThat(model.closed).isTrue();
    }
}
