package io.meritstream.inference;

import io.meritstream.session.WindowRequest;
import java.util.concurrent.TimeUnit;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/** Puts the inference operator into a topology: windows in, one {@link WindowResult} per window out. */
public final class Inference {
    private Inference() {}

    /** Operator name (web UI, logs, metric scope). */
    public static final String NAME = "infer";

    /** Operator uid (savepoint compatibility): keep stable. */
    public static final String UID = "inference";

    /** The operator with the ONNX Runtime model the settings name. */
    public static SingleOutputStreamOperator<WindowResult> apply(
            DataStream<WindowRequest> windows, InferenceSettings settings) {
        return apply(windows, settings, new OrtModelLoader());
    }

    /**
     * The operator with a model from {@code loader} (tests, benchmarks).
     *
     * <p>Unordered: a window's result leaves as soon as it is ready. Windows of one channel can overtake each other
     * only across batches, and analytics reorders by window index per channel. Results carry the request's timestamp.
     */
    public static SingleOutputStreamOperator<WindowResult> apply(
            DataStream<WindowRequest> windows, InferenceSettings settings, ModelLoader loader) {
        return AsyncDataStream.unorderedWait(
                        windows,
                        new InferenceFunction(settings, loader),
                        settings.asyncTimeoutMs(),
                        TimeUnit.MILLISECONDS,
                        settings.asyncCapacity())
                .name(NAME)
                .uid(UID);
    }
}
