package io.meritstream.job;

import io.meritstream.analytics.AnalyticsConfig;
import io.meritstream.analytics.AnalyticsOptions;
import io.meritstream.analytics.AnalyticsStage;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.conversation.ConversationConfig;
import io.meritstream.conversation.ConversationOptions;
import io.meritstream.conversation.ConversationStage;
import io.meritstream.inference.Inference;
import io.meritstream.inference.InferenceOptions;
import io.meritstream.inference.InferenceSettings;
import io.meritstream.inference.ModelCard;
import io.meritstream.inference.OrtModelLoader;
import io.meritstream.inference.StreamingClassifier;
import io.meritstream.inference.WindowResult;
import io.meritstream.ingest.DecodedFrame;
import io.meritstream.ingest.FrameDecoder;
import io.meritstream.ingest.FrameResampler;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.ingest.NativeFrame;
import io.meritstream.session.SessionWindower;
import io.meritstream.session.StreamGuard;
import io.meritstream.session.WindowRequest;
import io.meritstream.session.WindowingConfig;
import io.meritstream.speaker.SpeakerReferenceConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Objects;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;

/**
 * The job's topology, with its source and sinks passed in (as in the Flink training exercises), so tests run exactly
 * this graph on test data:
 *
 * <pre>
 * source ─► decode+validate ─┬─► keyBy(stream) ─► resample ─► windower ─► infer ─► keyBy(stream) ─► analytics ─┐
 *                            └─(dead letters)─► dead-letter sink                                              │
 *      ┌──────────────────────────────────────────────────────────────────────────────────────────────────────┘
 *      ├─► enhanced-audio sink     ├─► emotion-events sink     ├─► emotion-trends sink     ├─► emotion-alerts sink
 *      └─(channel activity)─► keyBy(session) ─► conversation ─► call-summaries sink
 * </pre>
 *
 * <h2>Entry points</h2>
 *
 * <ul>
 *   <li>Kafka to Kafka from options (the CLI, {@link #main}): {@code MeritStreamJob.fromConfiguration(conf).build(env)},
 *       or the same as one call, {@link #buildFromConfiguration(Configuration, StreamExecutionEnvironment)} (shaped
 *       like a {@code (conf, env) -> void} callback). Every option is validated first; a bad one throws {@link
 *       IllegalArgumentException} (or Flink's {@code IllegalConfigurationException}) naming it, before anything is
 *       added to the environment. It also turns checkpointing on (see {@link #DEFAULT_CHECKPOINT_INTERVAL}).
 *   <li>Injected source and sinks (tests): {@link #MeritStreamJob(Source, Sinks, IngestSettings, WindowingConfig,
 *       InferenceSettings, AnalyticsConfig)} then {@link #build}; the stages are also public one by one ({@link
 *       #records}, {@link #windows}, {@link #infer}, {@link #analyse}, {@link #sinkOutputs}) for tests that put
 *       something between them.
 *   <li>Ingest and windowing only (windows to a sink): {@link #MeritStreamJob(Source, Sink, Sink, IngestSettings,
 *       WindowingConfig)}.
 * </ul>
 *
 * Every operator has a name and a stable uid (the {@code UID_*} constants here, {@link Inference#UID}, {@link
 * AnalyticsStage#UID}), so that savepoints survive changes to the graph around it.
 *
 * <h2>Delivery</h2>
 *
 * Built from options, each topic has its own guarantee ({@code kafka.delivery.<topic>}, or {@code
 * kafka.delivery-guarantee} for all). By default the topics a supervisor watches (emotion events, trends, alerts) are
 * {@code AT_LEAST_ONCE}: sent as soon as they are computed, so visible within the pipeline's latency; a restart may
 * repeat some, and each carries the same {@link RecordIds#HEADER} header every time so that consumers drop repeats.
 * Enhanced audio and dead letters are {@code EXACTLY_ONCE}: written in Kafka transactions that commit when a checkpoint
 * completes, so consumers reading with {@code isolation.level=read_committed} see each record once, up to one checkpoint
 * interval later.
 */
public class MeritStreamJob {
    public static final String JOB_NAME = "merit-stream";

    public static final String UID_SOURCE = "audio-frames-source";
    public static final String UID_DECODE = "decode-validate";
    public static final String UID_DEAD_LETTER_SINK = "dead-letter-sink";
    public static final String UID_STREAM_GUARD = "stream-guard";
    public static final String UID_RESAMPLE = "resample-16k";
    public static final String UID_WINDOWER = "session-windower";
    public static final String UID_WINDOW_SINK = "window-sink";
    public static final String UID_ENHANCED_AUDIO_SINK = "enhanced-audio-sink";
    public static final String UID_EMOTION_EVENTS_SINK = "emotion-events-sink";
    public static final String UID_EMOTION_TRENDS_SINK = "emotion-trends-sink";
    public static final String UID_EMOTION_ALERTS_SINK = "emotion-alerts-sink";
    public static final String UID_CALL_SUMMARIES_SINK = "call-summaries-sink";

    /**
     * Checkpoint interval of a job built from options when neither the options nor the environment set {@code
     * execution.checkpointing.interval}. Exactly-once output (enhanced audio, dead letters) becomes visible only at
     * checkpoints, so this is also the longest a read_committed consumer waits for it; 10 s keeps the checkpoint cost
     * low, and the at-least-once topics do not wait for it.
     */
    public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(10);

    /** Where each output goes: one sink per topic, dead letters included. */
    public record Sinks(
            Sink<DeadLetter> deadLetters,
            Sink<EnhancedAudioChunk> enhancedAudio,
            Sink<EmotionEvent> emotionEvents,
            Sink<EmotionTrend> emotionTrends,
            Sink<EmotionAlert> emotionAlerts,
            Sink<CallSummary> callSummaries) {
        public Sinks {
            Objects.requireNonNull(deadLetters, "deadLetters");
            Objects.requireNonNull(enhancedAudio, "enhancedAudio");
            Objects.requireNonNull(emotionEvents, "emotionEvents");
            Objects.requireNonNull(emotionTrends, "emotionTrends");
            Objects.requireNonNull(emotionAlerts, "emotionAlerts");
            Objects.requireNonNull(callSummaries, "callSummaries");
        }

        /** One {@code KafkaSink} per topic of {@code kafka}, with its delivery guarantee. */
        public static Sinks kafka(KafkaSettings kafka) {
            return new Sinks(
                    KafkaConnectors.deadLetterSink(kafka),
                    KafkaConnectors.enhancedAudioSink(kafka),
                    KafkaConnectors.emotionEventsSink(kafka),
                    KafkaConnectors.emotionTrendsSink(kafka),
                    KafkaConnectors.emotionAlertsSink(kafka),
                    KafkaConnectors.callSummariesSink(kafka));
        }
    }

    private final Source<IngestRecord, ?, ?> source;
    private final Sink<DeadLetter> deadLetterSink;
    private final IngestSettings ingest;
    private final WindowingConfig windowing;
    private final SpeakerReferenceConfig speakerReference;
    // The whole job: outputs, inference and analytics; null for the ingest-and-windowing graph.
    private final Sinks sinks;
    private final InferenceSettings inference;
    private final AnalyticsConfig analytics;
    private final ConversationConfig conversation;
    // The ingest-and-windowing graph's window sink; null for the whole job.
    private final Sink<WindowRequest> windowSink;
    // Set when built from options: the job then turns checkpointing on if the environment has not.
    private Duration checkpointInterval;
    // The options it was built from, for the checkpoint settings (CheckpointDefaults); null otherwise.
    private ReadableConfig options;
    // The model's card, read on first use where the job is built.
    private transient ModelCard modelCard;

    /** The whole job, from source to the six sinks. */
    public MeritStreamJob(
            Source<IngestRecord, ?, ?> source,
            Sinks sinks,
            IngestSettings ingest,
            WindowingConfig windowing,
            SpeakerReferenceConfig speakerReference,
            InferenceSettings inference,
            AnalyticsConfig analytics,
            ConversationConfig conversation) {
        this.source = Objects.requireNonNull(source, "source");
        this.sinks = Objects.requireNonNull(sinks, "sinks");
        this.deadLetterSink = sinks.deadLetters();
        this.ingest = Objects.requireNonNull(ingest, "ingest");
        this.windowing = Objects.requireNonNull(windowing, "windowing");
        this.speakerReference = Objects.requireNonNull(speakerReference, "speakerReference");
        this.inference = Objects.requireNonNull(inference, "inference");
        this.analytics = Objects.requireNonNull(analytics, "analytics");
        this.conversation = Objects.requireNonNull(conversation, "conversation");
        this.windowSink = null;
    }

    /**
     * The ingest-and-windowing graph only: the analysis windows go to {@code windowSink}, no inference, no analytics.
     * {@link #infer} and {@link #analyse} are not available on it.
     */
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
        this.speakerReference = null;
        this.sinks = null;
        this.inference = null;
        this.analytics = null;
        this.conversation = null;
    }

    /**
     * The whole job against Kafka, from the job's options: the {@link KafkaOptions} (source, one {@code KafkaSink} per
     * topic, delivery guarantee, transactional id prefix, {@code kafka.properties.*}), {@link IngestOptions}, {@link
     * WindowingConfig}'s options, {@link InferenceOptions} and {@link AnalyticsOptions}, plus Flink's {@code
     * execution.checkpointing.interval}.
     *
     * <p>Every option is read and validated here, before anything is built: a bad one throws {@link
     * IllegalArgumentException} (or {@code IllegalConfigurationException}) with a message naming the option and what
     * is allowed. {@link #build} then also turns checkpointing on (the options' interval, else {@link
     * #DEFAULT_CHECKPOINT_INTERVAL}) unless the environment already checkpoints: the exactly-once sinks commit only at
     * checkpoints.
     */
    public static MeritStreamJob fromConfiguration(ReadableConfig conf) {
        KafkaSettings kafka = KafkaSettings.fromConfiguration(conf);
        IngestSettings ingest = IngestSettings.fromConfiguration(conf);
        WindowingConfig windowing = WindowingConfig.fromConfiguration(conf);
        SpeakerReferenceConfig speakerReference = SpeakerReferenceConfig.fromConfiguration(conf);
        InferenceSettings inference = InferenceOptions.settings(conf);
        AnalyticsConfig analytics = AnalyticsConfig.fromConfiguration(conf);
        ConversationConfig conversation = ConversationConfig.fromConfiguration(conf);
        if (conversation.stateTtlMs <= analytics.idleTimeoutMs) {
            // Analytics ends a silent channel after its idle timeout; a call state dropped before that loses its FINAL.
            throw new IllegalArgumentException("Option '" + ConversationOptions.STATE_TTL.key() + "' ("
                    + conversation.stateTtlMs + " ms) must exceed '" + AnalyticsOptions.IDLE_TIMEOUT.key() + "' ("
                    + analytics.idleTimeoutMs + " ms), or a call whose channel went silent loses its FINAL summary");
        }
        Duration interval =
                conf.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL).orElse(DEFAULT_CHECKPOINT_INTERVAL);
        MeritStreamJob job = new MeritStreamJob(
                KafkaConnectors.audioFrameSource(kafka).build(),
                Sinks.kafka(kafka),
                ingest,
                windowing,
                speakerReference,
                inference,
                analytics,
                conversation);
        job.checkpointInterval = interval;
        job.options = conf;
        return job;
    }

    /**
     * Builds the whole Kafka-to-Kafka job from {@code conf} into {@code env}: {@code fromConfiguration(conf).build(env)}
     * in one call, for launchers that take a {@code (Configuration, StreamExecutionEnvironment)} callback (the CLI's
     * {@code merit run} / {@code merit demo}). The caller executes {@code env} (job name {@link #JOB_NAME}).
     *
     * @throws IllegalArgumentException naming the option when one is invalid; nothing has been added to {@code env}
     */
    public static void buildFromConfiguration(Configuration conf, StreamExecutionEnvironment env) {
        fromConfiguration(conf).build(env);
    }

    /** Builds the whole graph into {@code env}. */
    public void build(StreamExecutionEnvironment env) {
        if (checkpointInterval != null) {
            if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
                env.enableCheckpointing(checkpointInterval.toMillis());
            }
            CheckpointDefaults.apply(
                    options, env, Duration.ofMillis(env.getCheckpointConfig().getCheckpointInterval()));
        }
        DataStream<WindowRequest> windows = windows(records(env));
        if (windowSink != null) {
            windows.sinkTo(windowSink).name("window sink").uid(UID_WINDOW_SINK);
            return;
        }
        sinkOutputs(analyse(infer(windows)));
    }

    public JobExecutionResult execute(StreamExecutionEnvironment env) throws Exception {
        build(env);
        return env.execute(JOB_NAME);
    }

    /** The source's records (no watermarks: the job runs on processing time and the channels' own timelines). */
    public DataStream<IngestRecord> records(StreamExecutionEnvironment env) {
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), "audio-frames source")
                .uid(UID_SOURCE);
    }
    /**
     * Decodes, validates and resamples the input records to 16 kHz frames, keyed by {@link DecodedFrame#streamKey()};
     * rejected records go to the dead-letter sink.
     */
    public DataStream<DecodedFrame> frames(DataStream<IngestRecord> records) {
        SingleOutputStreamOperator<NativeFrame> decoded = records.process(
                        new FrameDecoder(ingest.maxFrameMs(), ingest.dlqMaxOriginalBytes(), ingest.maxIdBytes()))
                .name("decode+validate")
                .uid(UID_DECODE);
        // Resampling needs each stream's filter history, so the shuffle by stream comes before it, not after. The guard
        // is keyed the same way and forwards one-to-one, so the resampler reuses its partitioning.
        SingleOutputStreamOperator<NativeFrame> guarded = decoded.keyBy(NativeFrame::streamKey, Types.STRING)
                .process(new StreamGuard(windowing, ingest.dlqMaxOriginalBytes()))
                .name("stream guard")
                .uid(UID_STREAM_GUARD);
        decoded.getSideOutput(FrameDecoder.DEAD_LETTERS)
                .union(guarded.getSideOutput(StreamGuard.DEAD_LETTERS))
                .sinkTo(deadLetterSink)
                .name("dead-letter sink")
                .uid(UID_DEAD_LETTER_SINK);
        return DataStreamUtils.reinterpretAsKeyedStream(guarded, NativeFrame::streamKey, Types.STRING)
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
                .process(new SessionWindower(windowing, speakerReferenceForModel(), streamingChunkSamples()))
                .name("session windower")
                .uid(UID_WINDOWER);
    }

    /**
     * The speaker-reference settings when the model's card declares the reference inputs (the windower then computes
     * them), else null. Read from the card at build time, so a graph without the inputs runs as before.
     */
    private SpeakerReferenceConfig speakerReferenceForModel() {
        return inference != null && modelCard().usesSpeakerReference() ? speakerReference : null;
    }

    /**
     * For a streaming model, the samples of each window its encoder takes (context plus hop), after checking that the
     * windowing is the one it was exported for; 0 for a window model (or without inference).
     */
    private int streamingChunkSamples() {
        if (inference == null || !modelCard().isStreaming()) {
            return 0;
        }
        ModelCard.Streaming streaming = modelCard().streaming();
        if (streaming.hopSamples() != windowing.hopSamples()
                || streaming.hopSamples() * streaming.hopsPerWindow() != windowing.windowSamples()) {
            throw new IllegalArgumentException("The streaming model " + modelCard() + " runs hops of "
                    + streaming.hopSamples() + " samples pooled over windows of " + streaming.hopsPerWindow()
                    + " hops, but options '" + WindowingConfig.HOP.key() + "' / '" + WindowingConfig.WINDOW.key()
                    + "' give " + windowing.hopSamples() + " / " + windowing.windowSamples() + " samples");
        }
        if (!windowing.earlyFirstWindow()) {
            throw new IllegalArgumentException("The streaming model " + modelCard() + " needs option '"
                    + WindowingConfig.EARLY_FIRST_WINDOW.key() + "' true: it runs every hop once, the first one"
                    + " included");
        }
        return streaming.chunkSamples();
    }

    /** The model's card, read once where the job is built. */
    private ModelCard modelCard() {
        if (modelCard == null) {
            try {
                modelCard = OrtModelLoader.card(inference.model());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the model card of " + inference.model(), e);
            }
        }
        return modelCard;
    }

    /** Runs the model on every window ({@link Inference}); one result per window, failed windows included. */
    public SingleOutputStreamOperator<WindowResult> infer(DataStream<WindowRequest> windows) {
        return Inference.apply(windows, requireWholeJob(inference));
    }

    /** Keyed analytics of the window results ({@link AnalyticsStage}): the four output streams. */
    public AnalyticsStage.Outputs analyse(DataStream<WindowResult> results) {
        AnalyticsConfig config = requireWholeJob(analytics);
        return AnalyticsStage.apply(results, config, StreamingClassifier.Spec.of(inference.model(), modelCard()));
    }

    /** Each output stream to its sink. */
    public void sinkOutputs(AnalyticsStage.Outputs outputs) {
        Sinks to = requireWholeJob(sinks);
        outputs.enhancedAudio()
                .sinkTo(to.enhancedAudio())
                .name("enhanced-audio sink")
                .uid(UID_ENHANCED_AUDIO_SINK);
        outputs.emotionEvents()
                .sinkTo(to.emotionEvents())
                .name("emotion-events sink")
                .uid(UID_EMOTION_EVENTS_SINK);
        outputs.emotionTrends()
                .sinkTo(to.emotionTrends())
                .name("emotion-trends sink")
                .uid(UID_EMOTION_TRENDS_SINK);
        outputs.emotionAlerts()
                .sinkTo(to.emotionAlerts())
                .name("emotion-alerts sink")
                .uid(UID_EMOTION_ALERTS_SINK);
        ConversationStage.apply(outputs.channelActivity(), requireWholeJob(conversation))
                .sinkTo(to.callSummaries())
                .name("call-summaries sink")
                .uid(UID_CALL_SUMMARIES_SINK);
    }

    private static <T> T requireWholeJob(T part) {
        if (part == null) {
            throw new IllegalStateException(
                    "This MeritStreamJob was built for ingest and windowing only (with a window"
                            + " sink); use the constructor with Sinks, InferenceSettings and AnalyticsConfig for the whole job");
        }
        return part;
    }

    /**
     * Runs the whole job against Kafka. The job's options come from the command line as {@code --key value} (e.g.
     * {@code --kafka.bootstrap-servers broker:9092 --kafka.properties.security.protocol SASL_SSL
     * --execution.checkpointing.interval 2s}); see {@link #fromConfiguration}. Every option is validated before
     * anything is submitted.
     */
    public static void main(String[] args) throws Exception {
        Configuration conf = Configuration.fromMap(ParameterTool.fromArgs(args).toMap());
        MeritStreamJob job = fromConfiguration(conf); // validates every option first
        job.execute(StreamExecutionEnvironment.getExecutionEnvironment(conf));
    }
}
