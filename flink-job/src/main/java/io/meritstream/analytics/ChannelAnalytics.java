package io.meritstream.analytics;

import ai.onnxruntime.OrtException;
import io.meritstream.avro.AlertEvidence;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.avro.SessionSummary;
import io.meritstream.avro.TrendKind;
import io.meritstream.inference.ModelOutputs;
import io.meritstream.inference.StreamingClassifier;
import io.meritstream.inference.WindowResult;
import io.meritstream.metrics.MetricNames;
import io.meritstream.session.InputClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The analytics of one channel, keyed by {@link #keySelector()} (session + channel, so a customer's and an agent's
 * emotions are separate): puts window results back in window order, overlap-adds the enhanced audio, judges speech,
 * and emits per window an {@link EmotionEvent} (main output), an {@link EmotionTrend} UPDATE, any {@link EmotionAlert},
 * the {@link EnhancedAudioChunk}s that became final, a {@link ChannelActivity}, and at the end of the channel a
 * SESSION_SUMMARY (and a last ChannelActivity).
 *
 * <p>Decisions, in order of how a result is handled:
 *
 * <ul>
 *   <li><b>Order.</b> Async inference may complete windows out of order. A result ahead of the next expected index
 *       waits in keyed map state; when more than {@code analytics.reorder.max-pending-windows} wait, the missing
 *       windows are given up on (counted) and processing resumes at the earliest held-back one. A result for an index
 *       already processed or given up on is dropped and counted.
 *   <li><b>Failed windows</b> ({@code failure != null}, or outputs of the wrong shape): no EmotionEvent (counted); the
 *       trend UPDATE is still emitted, unchanged and with {@code speech = false}, so there is exactly one UPDATE per
 *       window; the failed window neither counts towards nor breaks an alert run. Its audio span is filled by the
 *       overlapping neighbours (with the default 3 s / 1 s, one failed window leaves no hole); samples that no
 *       successful window reached come out as silence. Chunk seq and startSample stay continuous either way.
 *   <li><b>Speech.</b> The speech gate ({@link SpeechGate}: Silero VAD by default, the energy rule as fallback)
 *       judges the enhanced audio's frames once each, in timeline order, with its state in keyed state ({@link
 *       SpeechTrack}); a window counts as speech when at least {@code analytics.vad.min-speech-ratio} of the frames
 *       new in it (the audio it adds to the channel, as the trend accounts it) are speech. Non-speech windows still get
 *       an EmotionEvent (speech = false) and an UPDATE with the unchanged trend, but move neither the trend nor the
 *       alert state. Each window also yields a {@link ChannelActivity} (side output {@link #CHANNEL_ACTIVITY}) for
 *       the call's conversation metrics.
 *   <li><b>End.</b> After the final window: the rest of the audio (end of stream on the last chunk), an open spike is
 *       closed with NEGATIVE_SPIKE_END, the SESSION_SUMMARY, then all keyed state and the timer are cleared. A channel
 *       whose final window never arrives is closed the same way after {@code analytics.idle-timeout} of processing
 *       time (counted on the input's progress, {@link InputClock}: from a restart at the earliest, and without up to
 *       another {@code analytics.idle-timeout} in which no window of any channel came), after processing what was
 *       held back.
 * </ul>
 *
 * <p>Latency is measured from the arrival of the window's newest frame to the emission of its event, on the operator's
 * processing-time clock (which test harnesses control).
 */
public class ChannelAnalytics extends KeyedProcessFunction<String, WindowResult, EmotionEvent> {
    private static final long serialVersionUID = 1L;

    /** Sample rate of every WindowResult. */
    public static final int SAMPLE_RATE = 16_000;

    public static final TypeInformation<EmotionEvent> EMOTION_EVENT_TYPE = TypeInformation.of(EmotionEvent.class);
    public static final OutputTag<EnhancedAudioChunk> ENHANCED_AUDIO =
            new OutputTag<>("enhanced-audio", TypeInformation.of(EnhancedAudioChunk.class));
    public static final OutputTag<EmotionTrend> EMOTION_TRENDS =
            new OutputTag<>("emotion-trends", TypeInformation.of(EmotionTrend.class));
    public static final OutputTag<EmotionAlert> EMOTION_ALERTS =
            new OutputTag<>("emotion-alerts", TypeInformation.of(EmotionAlert.class));
    /** Per window and at the end, for the conversation metrics of the call; not a topic. */
    public static final OutputTag<ChannelActivity> CHANNEL_ACTIVITY =
            new OutputTag<>("channel-activity", TypeInformation.of(ChannelActivity.class));

    private static final int LATENCY_HISTOGRAM_WINDOW = 1000;

    private final AnalyticsConfig config;

    private transient ValueState<ChannelState> state;
    private transient MapState<Long, WindowResult> pending;
    private transient SpeechGate speechGate;
    // Null for a window model.
    private final StreamingClassifier.Spec classifierSpec;
    private transient StreamingClassifier classifier;
    // A channel's windows come every hop (1 s by default): a gap of 10 s in all of them is a stall of the input.
    private static final long INPUT_STALL_AFTER_MS = 10_000;

    private transient InputClock clock;

    transient Counter emotionEvents;
    transient Counter[] speechWindowsByEmotion;
    transient Counter nonSpeechWindows;
    transient Counter failedWindows;
    transient Counter missingWindows;
    transient Counter lateWindows;
    transient Counter reorderedWindows;
    transient Counter spikesStarted;
    transient Counter spikesEnded;
    transient Counter audioChunks;
    transient Counter clippedSamples;
    transient Counter channelsClosed;
    transient Counter channelsIdleClosed;
    transient Histogram latency;

    public ChannelAnalytics(AnalyticsConfig config) {
        this(config, null);
    }

    /**
     * @param classifier a streaming model's classifier (its results carry SER features, not probabilities), or null for
     *     a window model
     */
    public ChannelAnalytics(AnalyticsConfig config, StreamingClassifier.Spec classifier) {
        this.config = config;
        this.classifierSpec = classifier;
    }

    /** The key this function must be keyed by: session + channel. */
    public static KeySelector<WindowResult, String> keySelector() {
        return new StreamKeySelector();
    }

    /** {@link WindowResult#streamKey()} as a named class, so Flink sees the String key type without lambda analysis. */
    public static final class StreamKeySelector implements KeySelector<WindowResult, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(WindowResult result) {
            return result.streamKey();
        }
    }

    @Override
    public void open(OpenContext openContext) {
        state = getRuntimeContext()
                .getState(new ValueStateDescriptor<>("analytics-channel", TypeInformation.of(ChannelState.class)));
        pending = getRuntimeContext()
                .getMapState(new MapStateDescriptor<>(
                        "analytics-pending", Types.LONG, TypeInformation.of(WindowResult.class)));
        speechGate = SpeechGate.of(config);
        if (classifierSpec != null) {
            try {
                classifier = StreamingClassifier.open(classifierSpec);
            } catch (IOException | OrtException e) {
                throw new IllegalStateException(
                        "cannot open the streaming model's classifier " + classifierSpec.path(), e);
            }
        }
        clock = new InputClock(INPUT_STALL_AFTER_MS, config.idleTimeoutMs, config.idleTimeoutMs);

        MetricGroup metrics = getRuntimeContext().getMetricGroup();
        emotionEvents = metrics.counter(MetricNames.EMOTION_EVENTS);
        // One counter per class: a bounded label (4 values) that gives dashboards the floor-wide emotion distribution.
        speechWindowsByEmotion = new Counter[Emotion.values().length];
        for (Emotion emotion : Emotion.values()) {
            speechWindowsByEmotion[emotion.ordinal()] = metrics.addGroup(
                            MetricNames.EMOTION_GROUP, emotion.name().toLowerCase(java.util.Locale.ROOT))
                    .counter(MetricNames.SPEECH_WINDOWS);
        }
        nonSpeechWindows = metrics.counter(MetricNames.NON_SPEECH_WINDOWS);
        failedWindows = metrics.counter(MetricNames.ANALYTICS_FAILED_WINDOWS);
        missingWindows = metrics.counter(MetricNames.ANALYTICS_MISSING_WINDOWS);
        lateWindows = metrics.counter(MetricNames.ANALYTICS_LATE_WINDOWS);
        reorderedWindows = metrics.counter(MetricNames.ANALYTICS_REORDERED_WINDOWS);
        spikesStarted = metrics.counter(MetricNames.NEGATIVE_SPIKES_STARTED);
        spikesEnded = metrics.counter(MetricNames.NEGATIVE_SPIKES_ENDED);
        audioChunks = metrics.counter(MetricNames.ENHANCED_AUDIO_CHUNKS);
        clippedSamples = metrics.counter(MetricNames.ENHANCED_AUDIO_CLIPPED_SAMPLES);
        channelsClosed = metrics.counter(MetricNames.ANALYTICS_CHANNELS_CLOSED);
        channelsIdleClosed = metrics.counter(MetricNames.ANALYTICS_CHANNELS_IDLE_CLOSED);
        latency = metrics.histogram(
                MetricNames.END_TO_END_LATENCY_MS, new DescriptiveStatisticsHistogram(LATENCY_HISTOGRAM_WINDOW));
    }

    @Override
    public void close() throws Exception {
        if (speechGate != null) {
            speechGate.close();
        }
        if (classifier != null) {
            classifier.close();
        }
        super.close();
    }

    @Override
    public void processElement(WindowResult result, Context ctx, Collector<EmotionEvent> out) throws Exception {
        clock.input(ctx.timerService().currentProcessingTime());
        ChannelState s = state.value();
        if (s == null) {
            s = new ChannelState();
            s.sessionId = result.sessionId;
            s.channel = result.channel;
        }
        if (result.windowIndex < s.nextIndex || pending.contains(result.windowIndex)) {
            lateWindows.inc();
            return; // state unchanged: nothing to write back
        }
        if (result.windowIndex > s.nextIndex) {
            pending.put(result.windowIndex, result);
            s.pendingCount++;
            reorderedWindows.inc();
            if (s.pendingCount > config.maxPendingWindows) {
                long earliest = Long.MAX_VALUE;
                for (Long index : pending.keys()) {
                    earliest = Math.min(earliest, index);
                }
                missingWindows.inc(earliest - s.nextIndex);
                s.nextIndex = earliest;
            }
        } else if (process(result, s, ctx, out)) {
            close(s, ctx);
            return;
        }
        if (drainPending(s, ctx, out)) {
            close(s, ctx);
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        s.lastResultMs = now;
        if (s.idleTimerMs != 0) {
            ctx.timerService().deleteProcessingTimeTimer(s.idleTimerMs);
        }
        s.idleTimerMs = now + config.idleTimeoutMs;
        ctx.timerService().registerProcessingTimeTimer(s.idleTimerMs);
        state.update(s);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<EmotionEvent> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        clock.tick(now);
        ChannelState s = state.value();
        if (s == null || timestamp != s.idleTimerMs) {
            return;
        }
        // Restored state's timer fired before the backlog is read, or the input stalled: not idle yet.
        if (clock.idleMs(s.lastResultMs, now) < config.idleTimeoutMs) {
            s.idleTimerMs = clock.earliestDeadline(s.lastResultMs, config.idleTimeoutMs, now);
            ctx.timerService().registerProcessingTimeTimer(s.idleTimerMs);
            state.update(s);
            return;
        }
        s.idleTimerMs = 0; // fired: nothing to delete
        channelsIdleClosed.inc();
        if (s.lastWindowIndex < 0 && s.nextIndex == 0) {
            // Nothing of this channel was ever processed: these are stragglers of a channel already closed (or its
            // first window never came). Emitting a summary for them would invent a second session; close() counts
            // them as late.
            close(s, ctx);
            return;
        }
        List<Long> indices = new ArrayList<>();
        for (Long index : pending.keys()) {
            indices.add(index);
        }
        indices.sort(null);
        for (long index : indices) {
            WindowResult result = pending.get(index);
            pending.remove(index);
            s.pendingCount--;
            missingWindows.inc(index - s.nextIndex);
            if (process(result, s, ctx, out)) {
                close(s, ctx);
                return;
            }
        }
        List<EmotionAlert> closing = finish(s, ctx);
        ctx.output(CHANNEL_ACTIVITY, activity(s, s.lastWindowIndex, toMs(s.audio.end), closing, true));
        close(s, ctx);
    }

    /** Processes held-back results while the next expected one is there; true when the final window was among them. */
    private boolean drainPending(ChannelState s, Context ctx, Collector<EmotionEvent> out) throws Exception {
        WindowResult next;
        while (s.pendingCount > 0 && (next = pending.get(s.nextIndex)) != null) {
            pending.remove(s.nextIndex);
            s.pendingCount--;
            if (process(next, s, ctx, out)) {
                return true;
            }
        }
        return false;
    }

    /** Handles one result in window order; returns true when it was the channel's final window. */
    private boolean process(WindowResult r, ChannelState s, Context ctx, Collector<EmotionEvent> out) {
        int valid = Math.max(0, Math.min(r.validSamples, r.windowSamples));
        long windowStart = Math.max(0, r.startSample);
        long windowEnd = Math.max(windowStart, r.startSample + valid);
        long owned = TrendTracker.ownedSamples(windowStart, windowEnd, s.lastEndSample);
        s.lastEndSample = Math.max(s.lastEndSample, windowEnd);
        long timeMs = toMs(windowEnd);
        // A hop of 0 would be a windower bug; keep the job alive (the result is unusable anyway).
        double hopSeconds = (double) Math.max(1, r.hopSamples) / SAMPLE_RATE;
        if (r.hopSamples > 0) {
            s.audio.init(r.hopSamples);
        }

        classifyStreamed(r, s);
        boolean usable = usable(r);
        boolean speech = false;
        SpeechTrack.Hop speechHop = null;
        // A window model's enhanced audio is its window; a streaming model's, its hop plus the cross-fade before it.
        long audioStart = r.serFrames == null ? r.startSample : r.enhancedStartSample;
        if (usable) {
            s.modelVersion = r.modelVersion == null ? "" : r.modelVersion;
            int audioValid = (int) Math.max(0, Math.min(r.enhanced.length, r.startSample + valid - audioStart));
            s.audio.add(audioStart, r.enhanced.length, r.enhanced, audioValid);
            speechHop = s.speech.advance(speechGate, r.enhanced, audioStart, audioValid);
            float speechRatio = speechHop.ratio();
            speech = speechRatio >= config.minSpeechRatio;
            if (!speech) {
                nonSpeechWindows.inc();
            }
            EmotionEvent event = event(r, s, windowStart, windowEnd, speechRatio, speech, ctx);
            out.collect(event);
            emotionEvents.inc();
            if (speech) {
                speechWindowsByEmotion[event.getLabel().ordinal()].inc();
            }
        } else {
            failedWindows.inc();
            s.audio.extendEnd(windowEnd);
        }

        TrendAndSpikeStep.Outcome hop = TrendAndSpikeStep.apply(
                s.trend, s.spikes, r.emotionProbabilities, speech, owned, hopSeconds, timeMs, config);
        ctx.output(
                EMOTION_TRENDS,
                trend(s, TrendKind.UPDATE, r.windowIndex, timeMs, hop.negativity(), hop.slope(), speech));
        List<EmotionAlert> fired = new ArrayList<>(1);
        if (hop.decision() != null) {
            fired.add(alert(s, hop.decision(), r.windowIndex, timeMs, hop.negativity()));
            ctx.output(EMOTION_ALERTS, fired.get(0));
        }
        s.nextIndex = r.windowIndex + 1;
        s.lastWindowIndex = r.windowIndex;
        s.lastSpeech = speech;

        if (r.finalWindow) {
            fired.addAll(finish(s, ctx));
        } else {
            emitAudio(s, s.audio.drain(audioStart + Math.max(0, r.hopSamples)), ctx);
        }
        ChannelActivity activity = activity(s, r.windowIndex, timeMs, fired, r.finalWindow);
        activity.ownedMs = toMs(owned);
        activity.speech = speech;
        if (usable) {
            activity.emotionProbabilities = r.emotionProbabilities.clone();
            activity.firstFrame = speechHop.firstFrame();
            activity.speechFrames = speechHop.speech();
            activity.speechSumOfSquares = speechHop.speechSumOfSquares();
            activity.speechFrameCount = speechHop.speechFrames();
        }
        ctx.output(CHANNEL_ACTIVITY, activity);
        return r.finalWindow;
    }

    /** The activity record of a window (or of the end of the channel) without its frames: ids, time, alerts. */
    private ChannelActivity activity(
            ChannelState s, long windowIndex, long timeMs, List<EmotionAlert> fired, boolean finalRecord) {
        ChannelActivity activity = new ChannelActivity();
        activity.sessionId = s.sessionId;
        activity.channel = s.channel;
        activity.windowIndex = windowIndex;
        activity.timeMs = timeMs;
        activity.frameSamples = speechGate.frameSamples();
        activity.firstFrame = s.speech.nextFrame;
        activity.negativity = config.negativity(s.trend.smoothed);
        activity.alerts = new ChannelActivity.Alert[fired.size()];
        for (int i = 0; i < fired.size(); i++) {
            EmotionAlert alert = fired.get(i);
            activity.alerts[i] = new ChannelActivity.Alert(alert.getKind(), alert.getTimeMs(), alert.getScore());
        }
        activity.finalRecord = finalRecord;
        activity.modelVersion = s.modelVersion;
        activity.speechGate = speechGate.name();
        return activity;
    }

    /** Ends the channel's outputs: the rest of the audio, an open spike's end, the summary; returns that end alert. */
    private List<EmotionAlert> finish(ChannelState s, Context ctx) {
        emitAudio(s, s.audio.finish(), ctx);
        long durationMs = toMs(s.audio.end);
        float negativity = config.negativity(s.trend.smoothed);
        SpikeDetector.Decision decision = s.spikes.closeAtEnd(durationMs);
        List<EmotionAlert> closing =
                decision == null ? List.of() : List.of(alert(s, decision, s.lastWindowIndex, durationMs, negativity));
        closing.forEach(alert -> ctx.output(EMOTION_ALERTS, alert));
        EmotionTrend summary =
                trend(s, TrendKind.SESSION_SUMMARY, s.lastWindowIndex, durationMs, negativity, 0f, s.lastSpeech);
        summary.setSummary(SessionSummary.newBuilder()
                .setDurationMs(durationMs)
                .setSpeechMs(toMs(s.trend.speechSamples))
                .setDominant(Emotions.label(s.trend.dominant()))
                .setTimeShare(Emotions.probabilities(s.trend.timeShare()))
                .setPeakNegativity(s.trend.peakNegativity)
                .setPeakNegativityTimeMs(s.trend.peakNegativityTimeMs)
                .setAlertCount(s.spikes.alertCount)
                .build());
        ctx.output(EMOTION_TRENDS, summary);
        return closing;
    }

    /** Clears every piece of keyed state and the idle timer of the current key. */
    private void close(ChannelState s, Context ctx) throws Exception {
        if (s.idleTimerMs != 0) {
            ctx.timerService().deleteProcessingTimeTimer(s.idleTimerMs);
        }
        if (s.pendingCount > 0) {
            lateWindows.inc(s.pendingCount); // results after the final window
        }
        pending.clear();
        state.clear();
        channelsClosed.inc();
    }

    private void emitAudio(ChannelState s, List<OverlapAdd.Chunk> chunks, Context ctx) {
        int[] clipped = new int[1];
        for (OverlapAdd.Chunk chunk : chunks) {
            byte[] pcm = Pcm16.encode(chunk.samples(), clipped);
            clippedSamples.inc(clipped[0]);
            ctx.output(
                    ENHANCED_AUDIO,
                    EnhancedAudioChunk.newBuilder()
                            .setSessionId(s.sessionId)
                            .setChannel(s.channel)
                            .setSeq(chunk.seq())
                            .setStartSample(chunk.startSample())
                            .setSampleRate(SAMPLE_RATE)
                            .setPayload(ByteBuffer.wrap(pcm))
                            .setModelVersion(s.modelVersion)
                            .setEndOfStream(chunk.endOfStream())
                            .build());
            audioChunks.inc();
        }
    }

    private EmotionEvent event(
            WindowResult r,
            ChannelState s,
            long windowStart,
            long windowEnd,
            float speechRatio,
            boolean speech,
            Context ctx) {
        float[] p = r.emotionProbabilities;
        int label = Emotions.argmax(p);
        long latencyMs = Math.max(0, ctx.timerService().currentProcessingTime() - r.lastArrivalMs);
        latency.update(latencyMs);
        return EmotionEvent.newBuilder()
                .setSessionId(s.sessionId)
                .setChannel(s.channel)
                .setWindowIndex(r.windowIndex)
                .setWindowStartMs(toMs(windowStart))
                .setWindowEndMs(toMs(windowEnd))
                .setWindowStartSample(windowStart)
                .setWindowEndSample(windowEnd)
                .setProbabilities(Emotions.probabilities(p))
                .setLabel(Emotions.label(label))
                .setConfidence(p[label])
                .setSpeechRatio(speechRatio)
                .setSpeech(speech)
                .setRoutingSe(boxed(r.routingSe))
                .setRoutingSer(boxed(r.routingSer))
                .setFlags(r.flags == null ? List.of() : Arrays.asList(r.flags.clone()))
                .setModelVersion(s.modelVersion)
                .setLatencyMs(latencyMs)
                .setSpeakerReferenceSeconds(r.referenceSpeechSeconds)
                .build();
    }

    private EmotionTrend trend(
            ChannelState s,
            TrendKind kind,
            long windowIndex,
            long timeMs,
            float negativity,
            float slope,
            boolean speech) {
        return EmotionTrend.newBuilder()
                .setSessionId(s.sessionId)
                .setChannel(s.channel)
                .setKind(kind)
                .setWindowIndex(windowIndex)
                .setTimeMs(timeMs)
                .setSmoothed(Emotions.probabilities(s.trend.smoothed))
                .setNegativity(negativity)
                .setSlope(slope)
                .setSpeech(speech)
                .setSummary(null)
                .build();
    }

    private EmotionAlert alert(
            ChannelState s, SpikeDetector.Decision decision, long windowIndex, long timeMs, float negativity) {
        if (decision.kind() == io.meritstream.avro.AlertKind.NEGATIVE_SPIKE_START) {
            spikesStarted.inc();
        } else {
            spikesEnded.inc();
        }
        return EmotionAlert.newBuilder()
                .setSessionId(s.sessionId)
                .setChannel(s.channel)
                .setKind(decision.kind())
                .setTimeMs(timeMs)
                .setWindowIndex(windowIndex)
                .setScore(negativity)
                .setEnterThreshold((float) config.enterThreshold)
                .setExitThreshold((float) config.exitThreshold)
                .setConsecutiveHops(decision.consecutiveHops())
                .setEvidence(AlertEvidence.newBuilder()
                        .setDominant(Emotions.label(Emotions.argmax(s.trend.smoothed)))
                        .setSmoothed(Emotions.probabilities(s.trend.smoothed))
                        .setPeakScore(s.spikes.peakScore)
                        .setSpikeStartMs(s.spikes.runStartMs)
                        .build())
                .build();
    }

    /**
     * A streaming model's result has the SER features of its hop, not probabilities: the classifier pools them with the
     * channel's earlier hops into the window's. A failed window breaks the run of hops the next one pools over.
     */
    private void classifyStreamed(WindowResult r, ChannelState s) {
        if (r.serFrames == null || r.failed()) {
            if (classifierSpec != null) {
                s.emotionHistory.breakAt(r.windowIndex);
            }
            return;
        }
        if (classifier == null) {
            r.failure = "a streaming model's result (SER features, no emotion) reached analytics without the model's"
                    + " classifier";
            return;
        }
        EmotionHistory history = s.emotionHistory;
        int frames = history.push(r.windowIndex, r.serFrames, r.frameDb, classifierSpec.hopsPerWindow());
        try {
            r.emotionProbabilities = ModelOutputs.softmax(classifier.logits(
                    history.frames, history.frameDb, frames, r.prosody, r.speakerRef, r.speakerRefWeight));
        } catch (OrtException | RuntimeException e) {
            r.failure = "emotion classifier failed: " + e;
            history.breakAt(r.windowIndex);
        }
    }

    /** A result analytics can use: not failed, with outputs of the shapes the model card promises. */
    private static boolean usable(WindowResult r) {
        if (r.failed() || r.enhanced == null || r.emotionProbabilities == null || r.enhanced.length == 0) {
            return false;
        }
        boolean wholeWindow = r.serFrames == null;
        if (r.emotionProbabilities.length != Emotions.COUNT || (wholeWindow && r.enhanced.length < r.windowSamples)) {
            return false;
        }
        for (float p : r.emotionProbabilities) {
            if (!(p >= 0 && p <= 1.0001f)) {
                return false;
            }
        }
        return r.windowSamples > 0 && r.hopSamples > 0;
    }

    private static List<Integer> boxed(int[] values) {
        if (values == null) {
            return List.of();
        }
        List<Integer> list = new ArrayList<>(values.length);
        for (int v : values) {
            list.add(v);
        }
        return list;
    }

    static long toMs(long samples) {
        return samples * 1000 / SAMPLE_RATE;
    }
}
