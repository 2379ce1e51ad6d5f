package io.meritstream.conversation;

import io.meritstream.analytics.ChannelActivity;
import java.util.Arrays;

/** One channel of a call as the conversation metrics follow it. Part of {@link CallState} (a Flink POJO). */
public class ChannelTalk {
    public String channel;
    public boolean ended;
    /** Frames whose decisions arrived (exclusive end, from frame 0 of the call). */
    public long receivedFrames;
    /** Decisions of frames from the call's aligned position on, not yet lined up with the other channels. */
    public boolean[] pending = new boolean[0];

    public int pendingCount;

    /** Talking: within the hangover after a speech frame. */
    public boolean talking;
    /** Non-speech frames since the last speech frame. */
    public long silentRun;

    public long talkFrames;
    public double speechSumOfSquares;
    public long speechSamples;
    public int interruptions;
    /** Frame where the current monologue started, -1 when none runs. */
    public long monologueStart = -1;

    public long monologueLastTalk = -1;
    public long longestMonologueFrames;

    /** Speech time per emotion label (most probable class of each speech window), milliseconds. */
    public long[] emotionMs = new long[4];

    public float peakNegativity;
    public long peakNegativityTimeMs;
    public ChannelActivity.Alert[] alerts = new ChannelActivity.Alert[0];

    public ChannelTalk() {}

    ChannelTalk(String channel) {
        this.channel = channel;
    }

    /** Appends decisions from {@code firstFrame}: a gap is filled with non-speech, frames already here are dropped. */
    void receive(long firstFrame, boolean[] speech) {
        if (firstFrame > receivedFrames) {
            append(new boolean[(int) (firstFrame - receivedFrames)], 0);
        }
        append(speech, (int) Math.min(speech.length, Math.max(0, receivedFrames - firstFrame)));
    }

    private void append(boolean[] speech, int from) {
        int n = speech.length - from;
        if (pendingCount + n > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pendingCount + n, pending.length * 2));
        }
        System.arraycopy(speech, from, pending, pendingCount, n);
        pendingCount += n;
        receivedFrames += n;
    }

    /**
     * Drops the first {@code n} pending decisions, lined up up to frame {@code alignedFrames}; frames this channel had
     * not sent by then were counted as non-speech and will be dropped when they come.
     */
    void consume(int n, long alignedFrames) {
        int left = Math.max(0, pendingCount - n);
        System.arraycopy(pending, pendingCount - left, pending, 0, left);
        pendingCount = left;
        receivedFrames = Math.max(receivedFrames, alignedFrames);
    }

    void addAlerts(ChannelActivity.Alert[] more) {
        if (more == null || more.length == 0) {
            return;
        }
        ChannelActivity.Alert[] all = Arrays.copyOf(alerts, alerts.length + more.length);
        System.arraycopy(more, 0, all, alerts.length, more.length);
        alerts = all;
    }
}
