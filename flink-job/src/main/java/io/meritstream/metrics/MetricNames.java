package io.meritstream.metrics;

/**
 * Names of every metric the job registers, in one place so that dashboards, alert rules and tests refer to the same
 * strings. Flink's Prometheus reporter exports them as {@code flink_taskmanager_job_task_operator_<name>}.
 */
public final class MetricNames {
    private MetricNames() {}

    // --- inference (io.meritstream.inference.InferenceFunction) ---

    /** Histogram: milliseconds per model call (one batch, including a retry's second call separately). */
    public static final String INFERENCE_LATENCY_MS = "inferenceLatencyMs";
    /** Histogram: milliseconds from a window entering the inference operator to its result (queue + call). */
    public static final String INFERENCE_WINDOW_LATENCY_MS = "inferenceWindowLatencyMs";
    /** Histogram: windows per model call. */
    public static final String INFERENCE_BATCH_SIZE = "inferenceBatchSize";
    /** Gauge: windows in the operator waiting for a batch or in the running call. */
    public static final String INFERENCE_QUEUE_DEPTH = "inferenceQueueDepth";
    /** Counter: windows with a result (failed ones included). */
    public static final String INFERENCE_WINDOWS = "inferenceWindows";
    /** Meter: windows with a result per second. */
    public static final String INFERENCE_WINDOWS_PER_SECOND = "inferenceWindowsPerSecond";
    /** Counter: windows whose inference failed for good (batch failed twice, timed out, operator closed). */
    public static final String INFERENCE_FAILED_WINDOWS = "inferenceFailedWindows";
    /** Counter: model calls that threw or returned malformed output (each try counts). */
    public static final String INFERENCE_BATCH_FAILURES = "inferenceBatchFailures";
    /** Metric group key whose value is the model's name and version (a Prometheus label). */
    public static final String MODEL_VERSION_GROUP = "model_version";
    /** Gauge: constant 1 under {@link #MODEL_VERSION_GROUP}, the Prometheus "info" idiom for the model version. */
    public static final String MODEL_INFO = "modelInfo";
    /** Gauge: the model's name and version as a string (web UI and REST; Prometheus skips string gauges). */
    public static final String MODEL_VERSION = "modelVersion";
    /** Metric group key for the MoE task: {@code se} or {@code ser}. */
    public static final String TASK_GROUP = "task";
    /** Metric group key for the expert index, 0 .. experts - 1 (bounded by the model card). */
    public static final String EXPERT_GROUP = "expert";
    /** Gauge under task/expert: fraction of the task's 20 ms frames routed to the expert since the operator started. */
    public static final String EXPERT_UTILISATION = "expertUtilisation";
    /** Gauge under task/expert, never decreasing: 20 ms frames the task routed to the expert since the start. */
    public static final String EXPERT_ROUTED_FRAMES = "expertRoutedFrames";

    // --- ingest (io.meritstream.ingest.FrameDecoder, FrameResampler) ---

    /** Counter: input records decoded and validated into frames. */
    public static final String FRAMES_DECODED = "framesDecoded";
    /** Metric group key whose value is a {@code DeadLetterReason} symbol (a Prometheus label). */
    public static final String DEAD_LETTER_REASON_GROUP = "reason";
    /** Counter under {@link #DEAD_LETTER_REASON_GROUP}: input records sent to the dead-letter topic for that reason. */
    public static final String DEAD_LETTERS = "deadLetters";
    /** Counter: frames that did not continue their stream's resampling segment (seq gap, late frame, rate change). */
    public static final String RESAMPLER_DISCONTINUITIES = "resamplerDiscontinuities";

    // --- windowing (io.meritstream.session.SessionWindower) ---

    /** Counter: frames that arrived ahead of a missing one and waited in the reorder buffer. */
    public static final String FRAMES_REORDERED = "framesReordered";
    /** Counter: frames dropped because their seq was consumed (as audio or gap-filling silence) or buffered already. */
    public static final String FRAMES_DUPLICATE = "framesDuplicate";
    /** Counter: runs of missing frames replaced by silence (reorder bound exceeded, or the channel closed). */
    public static final String GAPS_FILLED = "gapsFilled";
    /** Counter: missing frames replaced by silence, summed over all gaps. */
    public static final String FRAMES_MISSING = "framesMissing";
    /** Counter: gaps whose silence was shortened to {@code windowing.max-gap-fill} (their frames still count). */
    public static final String GAPS_TRUNCATED = "gapsTruncated";
    /**
     * Counter: frames missing before a channel's first frame, not filled with silence (the job started mid-call, or a
     * duplicate arrived after its channel closed).
     */
    public static final String FRAMES_SKIPPED_AT_START = "framesSkippedAtStart";
    /** Counter: windows sent to inference, final ones included. */
    public static final String WINDOWS_EMITTED = "windowsEmitted";
    /** Counter: channels (session + channel) whose first frame arrived. */
    public static final String SESSIONS_OPENED = "sessionsOpened";
    /** Counter: channels closed, by end of stream or idle timeout; their state is gone. */
    public static final String SESSIONS_CLOSED = "sessionsClosed";
    /** Counter: channels closed by the idle timeout (also counted in {@link #SESSIONS_CLOSED}). */
    public static final String SESSIONS_IDLE_CLOSED = "sessionsIdleClosed";

    // --- analytics (io.meritstream.analytics.ChannelAnalytics) ---

    /** Counter: EmotionEvents emitted (one per successful window). */
    public static final String EMOTION_EVENTS = "emotionEvents";
    /** Group key (label) of {@link #SPEECH_WINDOWS}: the window's emotion label, one of four values. */
    public static final String EMOTION_GROUP = "emotion";
    /** Counter under {@link #EMOTION_GROUP}: speech windows labelled with that emotion (floor-wide distribution). */
    public static final String SPEECH_WINDOWS = "speechWindows";
    /** Counter: successful windows judged non-speech (they move neither trends nor alerts). */
    public static final String NON_SPEECH_WINDOWS = "nonSpeechWindows";
    /** Counter: window results without usable model output (inference failure): no EmotionEvent for them. */
    public static final String ANALYTICS_FAILED_WINDOWS = "analyticsFailedWindows";
    /** Counter: window indices given up on because the reorder buffer overflowed or the channel went idle. */
    public static final String ANALYTICS_MISSING_WINDOWS = "analyticsMissingWindows";
    /** Counter: window results dropped as duplicates, or arriving after their index was processed or given up on. */
    public static final String ANALYTICS_LATE_WINDOWS = "analyticsLateWindows";
    /** Counter: window results that arrived ahead of an earlier window and were held back to restore order. */
    public static final String ANALYTICS_REORDERED_WINDOWS = "analyticsReorderedWindows";
    /** Counter: NEGATIVE_SPIKE_START alerts. */
    public static final String NEGATIVE_SPIKES_STARTED = "negativeSpikesStarted";
    /** Counter: NEGATIVE_SPIKE_END alerts (including spikes closed by the end of their channel). */
    public static final String NEGATIVE_SPIKES_ENDED = "negativeSpikesEnded";
    /** Counter: EnhancedAudioChunks emitted. */
    public static final String ENHANCED_AUDIO_CHUNKS = "enhancedAudioChunks";
    /** Counter: enhanced samples outside [-1, 1] clipped on conversion to 16-bit PCM. */
    public static final String ENHANCED_AUDIO_CLIPPED_SAMPLES = "enhancedAudioClippedSamples";
    /** Counter: channels whose analytics ended (summary emitted, state cleared). */
    public static final String ANALYTICS_CHANNELS_CLOSED = "analyticsChannelsClosed";
    /** Counter: channels closed by the idle timeout because their final window never arrived. */
    public static final String ANALYTICS_CHANNELS_IDLE_CLOSED = "analyticsChannelsIdleClosed";
    /** Histogram: milliseconds from the arrival of a window's newest frame to the emission of its EmotionEvent. */
    public static final String END_TO_END_LATENCY_MS = "endToEndLatencyMs";

    // --- conversation (io.meritstream.conversation.CallConversation) ---

    /** Counter: call summaries written, PROGRESS and FINAL. */
    public static final String CALL_SUMMARIES = "callSummaries";
    /** Counter: calls ended with a FINAL summary. */
    public static final String CALLS_FINISHED = "callsFinished";
    /** Counter: milliseconds of call time in which no channel talked. */
    public static final String CONVERSATION_SILENCE_MS = "conversationSilenceMs";
    /** Counter: milliseconds of call time in which two or more channels talked at once. */
    public static final String CONVERSATION_OVERTALK_MS = "conversationOvertalkMs";
    /** Counter: milliseconds of call time lined up over all channels (the denominator of the two above). */
    public static final String CONVERSATION_CALL_MS = "conversationCallMs";
    /** Counter: times a channel started talking while another was talking. */
    public static final String CONVERSATION_INTERRUPTIONS = "conversationInterruptions";
}
