package io.meritstream.analytics;

/**
 * Everything {@link ChannelAnalytics} keeps per channel besides the held-back results: one value, read and written
 * once per window result, made of primitives and primitive arrays (a Flink POJO, no Kryo).
 */
public class ChannelState {
    public String sessionId;
    public String channel;
    /** The window index processed next; results with a higher index wait in the reorder buffer. */
    public long nextIndex;
    /** Results held back in the reorder buffer (kept here to avoid counting the map state). */
    public int pendingCount;
    /** Index of the last processed window, -1 before the first. */
    public long lastWindowIndex = -1;
    /** End of the real audio of the windows processed so far; the next window accounts for the audio after it. */
    public long lastEndSample;
    /** Whether the last processed window was speech. */
    public boolean lastSpeech;
    /** Model of the last successful window, for the audio chunks. */
    public String modelVersion = "";
    /** Time of the registered idle timer, 0 when none. */
    public long idleTimerMs;
    /** Processing time of the latest window result, for the idle timeout. */
    public long lastResultMs;

    public OverlapAdd audio = new OverlapAdd();
    public SpeechTrack speech = new SpeechTrack();
    public TrendTracker trend = new TrendTracker();
    public SpikeDetector spikes = new SpikeDetector();
    /** A streaming model's SER features of the latest hops; empty for window models. */
    public EmotionHistory emotionHistory = new EmotionHistory();

    public ChannelState() {}
}
