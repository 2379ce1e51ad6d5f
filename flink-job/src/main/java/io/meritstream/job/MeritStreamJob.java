package io.meritstream.job;

import io.meritstream.avro.DeadLetter;
import io.meritstream.ingest.DecodedFrame;
import io.meritstream.ingest.FrameDecoder;
import io.meritstream.ingest.FrameResampler;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.ingest.NativeFrame;
import io.meritstream.session.SessionWindower;
import io.meritstream.session.WindowRequest;
import io.meritstream.session.WindowingConfig;
import java.util.Objects;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.ParameterTool;

/**
 * The job's topology, with its sources and sinks passed in (as in the Flink training exercises), so tests run exactly
 * this graph on test data:
 *
 * <pre>
 * source ─► decode+validate ─┬─► keyBy(stream) ─► resample ─► windower ─► window sink
 *                            └─(dead letters)─► dead-letter sink
 * </pre>
 *
 * Later stages (inference, analytics) build on {@link #windows}. Every operator has a name and a stable uid, so that
 * savepoints survive changes to the graph around it.
 */
public class MeritStreamJob {
    public static final String UID_SOURCE = "audio-frames-source";
    public static final String UID_DECODE = "decode-validate";
    public static final String UID_DEAD_LETTER_SINK = "dead-letter-sink";
    public static final String UID_RESAMPLE = "resample-16k";
    public static final String UID_WINDOWER = "session-windower";
    public static final String UID_WINDOW_SINK = "window-sink";

    private final Source<IngestRecord, ?, ?> source;
    private final Sink<DeadLetter> deadLetterSink;
    private final Sink<WindowRequest> windowSink;
    private final IngestSettings ingest;
    private final WindowingConfig windowing;

    public MeritStreamJob(
            Source<IngestRecord, ?, ?> source,
            Sink<DeadLetter> deadLetterSink,
            Sink<WindowRequest> windowSink,
            IngestSettings ingest,
            WindowingConfig windowing) {
        this.source = Objects.requireNonNull(source, "source");
        this.deadLetterSink = Objects.requireNonNull(deadLetterSink, "deadLetterSink");
        this.windowSink = Objects.requireNonNull(windowSink, "windowSink");
        this.ingest = Objects.requireNonNull(ingest, "ingest");
        this.windowing = Objects.requireNonNull(windowing, "windowing");
    }

    /** Builds the whole graph into {@code env}. */
    public void build(StreamExecutionEnvironment env) {
        DataStream<IngestRecord> records = env.fromSource(
                        source, WatermarkStrategy.noWatermarks(), "audio-frames source")
                .uid(UID_SOURCE);
        windows(records).sinkTo(windowSink).name("window sink").uid(UID_WINDOW_SINK);
    }

    public JobExecutionResult execute(StreamExecutionEnvironment env) throws Exception {
        build(env);
        return env.execute("merit-stream");
    }

    /**
     * Decodes, validates and resamples the input records to 16 kHz frames, keyed by {@link DecodedFrame#streamKey()};
     * rejected records go to the dead-letter sink.
     */
    public DataStream<DecodedFrame> frames(DataStream<IngestRecord> records) {
        SingleOutputStreamOperator<NativeFrame> decoded = records.process(
                        new FrameDecoder(ingest.maxFrameMs(), ingest.dlqMaxOriginalBytes()))
                .name("decode+validate")
                .uid(UID_DECODE);
        decoded.getSideOutput(FrameDecoder.DEAD_LETTERS)
                .sinkTo(deadLetterSink)
                .name("dead-letter sink")
                .uid(UID_DEAD_LETTER_SINK);
        // Resampling needs each stream's filter history, so the shuffle by stream comes before it, not after.
        return decoded.keyBy(NativeFrame::streamKey, Types.STRING)
                .process(new FrameResampler(ingest.resamplerIdleFlush()))
                .name("resample to 16 kHz")
                .uid(UID_RESAMPLE);
    }

    /**
     * The analysis windows of every (session, channel) stream: {@link #frames} then the {@link SessionWindower}. The
     * resampler's output is still partitioned by stream key and forwarded one-to-one, so the windower reuses that
     * partitioning instead of a second network shuffle.
     */
    public DataStream<WindowRequest> windows(DataStream<IngestRecord> records) {
        return DataStreamUtils.reinterpretAsKeyedStream(frames(records), DecodedFrame::streamKey, Types.STRING)
                .process(new SessionWindower(windowing))
                .name("session windower")
                .uid(UID_WINDOWER);
    }

    /**
     * Runs the job against Kafka. The job's options come from the command line as {@code --key value} (e.g. {@code
     * --kafka.bootstrap-servers broker:9092 --kafka.properties.security.protocol SASL_SSL}); see {@link KafkaOptions},
     * {@link IngestOptions} and {@link WindowingConfig}. Every option is validated before anything is submitted.
     */
    public static void main(String[] args) throws Exception {
        Configuration conf = Configuration.fromMap(ParameterTool.fromArgs(args).toMap());
        KafkaSettings kafka = KafkaSettings.fromConfiguration(conf);
        IngestSettings ingest = IngestSettings.fromConfiguration(conf);
        WindowingConfig windowing = WindowingConfig.fromConfiguration(conf);

        KafkaSource<IngestRecord> source =
                KafkaConnectors.audioFrameSource(kafka).build();
        // Until the inference stage consumes the windows, they end here.
        new MeritStreamJob(source, KafkaConnectors.deadLetterSink(kafka), new DiscardingSink<>(), ingest, windowing)
                .execute(StreamExecutionEnvironment.getExecutionEnvironment(conf));
    }
}
