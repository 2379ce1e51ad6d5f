package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class InferenceOptionsTest {
    @Test
    void defaultsGiveTheDefaultModelOnTheCpu() {
        InferenceSettings s = InferenceOptions.settings(new Configuration());
        assertThat(s.model().usesDefaultModel()).isTrue();
        assertThat(s.model().device()).isEqualTo(InferenceDevice.CPU);
        assertThat(s.model().deviceFallback()).isFalse();
        assertThat(s.batchMax()).isEqualTo(InferenceOptions.BATCH_MAX.defaultValue());
        assertThat(s.batchTimeoutMs()).isEqualTo(InferenceOptions.BATCH_TIMEOUT_MS.defaultValue());
        assertThat(s.asyncCapacity()).isEqualTo(InferenceOptions.ASYNC_CAPACITY.defaultValue());
        assertThat(s.asyncTimeoutMs()).isEqualTo(InferenceOptions.ASYNC_TIMEOUT_MS.defaultValue());
        assertThat(s.callTimeoutMs()).isEqualTo(InferenceOptions.CALL_TIMEOUT_MS.defaultValue());
    }

    @Test
    void readsEveryOption() {
        Configuration conf = new Configuration();
        conf.set(InferenceOptions.MODEL_PATH, " /opt/models/m.onnx ");
        conf.set(InferenceOptions.DEVICE, "cuda:1");
        conf.set(InferenceOptions.DEVICE_FALLBACK, true);
        conf.set(InferenceOptions.INTRA_OP_THREADS, 2);
        conf.set(InferenceOptions.INTER_OP_THREADS, 1);
        conf.set(InferenceOptions.SPIN_WAIT, true);
        conf.set(InferenceOptions.BATCH_MAX, 16);
        conf.set(InferenceOptions.BATCH_TIMEOUT_MS, 5L);
        conf.set(InferenceOptions.ASYNC_CAPACITY, 16);
        conf.set(InferenceOptions.ASYNC_TIMEOUT_MS, 1000L);
        conf.set(InferenceOptions.CALL_TIMEOUT_MS, 400L);
        InferenceSettings s = InferenceOptions.settings(conf);
        assertThat(s.model().modelPath()).isEqualTo("/opt/models/m.onnx");
        assertThat(s.model().device()).isEqualTo(InferenceDevice.cuda(1));
        assertThat(s.model().deviceFallback()).isTrue();
        assertThat(s.model().intraOpThreads()).isEqualTo(2);
        assertThat(s.model().interOpThreads()).isEqualTo(1);
        assertThat(s.model().spinWait()).isTrue();
        // On CUDA the calls get fixed shapes: batch sizes up to batch.max, the job's 3 s windows.
        assertThat(s.model().fixedBatchMax()).isEqualTo(16);
        assertThat(s.model().fixedSamples()).isEqualTo(48_000);
        assertThat(s)
                .extracting("batchMax", "batchTimeoutMs", "callTimeoutMs", "asyncCapacity", "asyncTimeoutMs")
                .containsExactly(16, 5L, 400L, 16, 1000L);
    }

    @Test
    void readsOptionsGivenAsStrings() {
        // What a config.yaml or -D dynamic property gives.
        Configuration conf = Configuration.fromMap(java.util.Map.of(
                "inference.device", "cuda", "inference.batch.max", "4", "inference.async.capacity", "4"));
        InferenceSettings s = InferenceOptions.settings(conf);
        assertThat(s.model().device()).isEqualTo(InferenceDevice.cuda(0));
        assertThat(s.batchMax()).isEqualTo(4);
    }

    @Test
    void onTheCpuCallsKeepTheirShapesAndThreadsSleepBetweenCalls() {
        assertThat(InferenceOptions.settings(new Configuration()).model().fixedShapes())
                .isFalse();
        assertThat(InferenceOptions.settings(new Configuration()).model().spinWait())
                .isFalse();
    }

    private static void assertRejected(Configuration conf, String message) {
        assertThatThrownBy(() -> InferenceOptions.settings(conf))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void rejectsBadValuesNamingTheOption() {
        Configuration device = new Configuration();
        device.set(InferenceOptions.DEVICE, "tpu");
        assertRejected(
                device,
                "Option 'inference.device' must be 'cpu', 'cuda' or 'cuda:N' (N = CUDA device index, e.g. cuda:0),"
                        + " got 'tpu'");

        Configuration intra = new Configuration();
        intra.set(InferenceOptions.INTRA_OP_THREADS, -1);
        assertRejected(intra, "Option 'inference.threads.intra-op' must be >= 0 (0 = ONNX Runtime's default), got -1");

        Configuration inter = new Configuration();
        inter.set(InferenceOptions.INTER_OP_THREADS, -2);
        assertRejected(inter, "Option 'inference.threads.inter-op' must be >= 0 (0 = ONNX Runtime's default), got -2");

        Configuration batch = new Configuration();
        batch.set(InferenceOptions.BATCH_MAX, 0);
        assertRejected(batch, "Option 'inference.batch.max' must be >= 1, got 0");

        Configuration timeout = new Configuration();
        timeout.set(InferenceOptions.BATCH_TIMEOUT_MS, -5L);
        assertRejected(timeout, "Option 'inference.batch.timeout-ms' must be >= 0, got -5");

        Configuration capacity = new Configuration();
        capacity.set(InferenceOptions.BATCH_MAX, 8);
        capacity.set(InferenceOptions.ASYNC_CAPACITY, 4);
        assertRejected(
                capacity,
                "Option 'inference.async.capacity' must be at least 'inference.batch.max' (8) so that a batch can"
                        + " fill, got 4");

        Configuration asyncTimeout = new Configuration();
        asyncTimeout.set(InferenceOptions.ASYNC_TIMEOUT_MS, 0L);
        assertRejected(asyncTimeout, "Option 'inference.async.timeout-ms' must be >= 1, got 0");

        Configuration callTimeout = new Configuration();
        callTimeout.set(InferenceOptions.CALL_TIMEOUT_MS, -1L);
        assertRejected(callTimeout, "Option 'inference.batch.call-timeout-ms' must be >= 0 (0 = no deadline), got -1");

        Configuration callLongerThanAsync = new Configuration();
        callLongerThanAsync.set(InferenceOptions.CALL_TIMEOUT_MS, 5_000L);
        callLongerThanAsync.set(InferenceOptions.ASYNC_TIMEOUT_MS, 5_000L);
        assertRejected(
                callLongerThanAsync,
                "Option 'inference.batch.call-timeout-ms' (5000 ms) must be less than 'inference.async.timeout-ms'"
                        + " (5000 ms), or windows would time out before a slow call is aborted and retried");

        Configuration shorterThanBatch = new Configuration();
        shorterThanBatch.set(InferenceOptions.BATCH_TIMEOUT_MS, 100L);
        shorterThanBatch.set(InferenceOptions.ASYNC_TIMEOUT_MS, 100L);
        assertRejected(
                shorterThanBatch,
                "Option 'inference.async.timeout-ms' (100 ms) must be larger than 'inference.batch.timeout-ms' (100"
                        + " ms), or windows would time out while waiting for their batch");
    }

    @Test
    void everyOptionIsDocumented() throws IllegalAccessException {
        for (java.lang.reflect.Field f : InferenceOptions.class.getFields()) {
            if (f.get(null) instanceof org.apache.flink.configuration.ConfigOption<?> option) {
                assertThat(option.key()).startsWith("inference.");
                assertThat(option.description().toString()).as(option.key()).isNotBlank();
            }
        }
    }
}
