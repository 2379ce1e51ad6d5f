package io.meritstream.analytics;

import io.meritstream.avro.AlertKind;

/**
 * What one window added to a channel's conversation, for the call-level metrics downstream (keyed by session): the
 * speech gate's decisions on the frames new in it, their loudness, the window's emotion, the trend's negativity and
 * the alerts it fired. {@link ChannelAnalytics} emits one per processed window, in window order, and a last one with
 * {@link #finalRecord} when the channel ends (also after an idle close). Internal to the job (a Flink POJO), not a
 * topic.
 */
public class ChannelActivity {
    public String sessionId;
    public String channel;
    public long windowIndex;
    /** End of the window's real audio, milliseconds from the start of the channel. */
    public long timeMs;
    /** Samples per speech-gate frame (frames lie on a grid from sample 0). */
    public int frameSamples;
    /** Index of the first frame in {@link #speechFrames}. */
    public long firstFrame;
    /** The gate's decision per new frame; empty for a failed window. */
    public boolean[] speechFrames = new boolean[0];
    /** Sum of squared enhanced samples over the new speech frames, for the speech level. */
    public double speechSumOfSquares;

    public int speechFrameCount;
    /** Whether the window counted as speech (it then moved the trend). */
    public boolean speech;
    /** Audio the window added to the channel, milliseconds (overlaps not counted twice). */
    public long ownedMs;
    /** The window's class probabilities; null for a failed window. */
    public float[] emotionProbabilities;
    /** The trend's negativity after this window. */
    public float negativity;

    public Alert[] alerts = new Alert[0];
    /** True on the channel's last record. */
    public boolean finalRecord;

    public String modelVersion = "";
    /** {@link SpeechGate#name()} of the gate that judged the frames. */
    public String speechGate = "";

    public ChannelActivity() {}

    /** An alert as the call summary lists it. */
    public static class Alert {
        public AlertKind kind;
        public long timeMs;
        public float score;

        public Alert() {}

        public Alert(AlertKind kind, long timeMs, float score) {
            this.kind = kind;
            this.timeMs = timeMs;
            this.score = score;
        }
    }
}
