package io.meritstream.analytics;

import java.util.Arrays;

/**
 * Where a channel's speech gate stands on its timeline: the next frame to judge and the gate's state. Part of {@link
 * ChannelState} (a Flink POJO: checkpointed with it).
 *
 * <p>Frames lie on a fixed grid from sample 0 of the channel (frame {@code f} covers {@code [f * F, (f + 1) * F)}), and
 * each is judged once, from the first window that holds all of it, so that a stateful gate sees every frame once and
 * in order. Frames no window brought (missing or failed windows) are skipped and the gate's state starts again.
 */
public class SpeechTrack {
    /** The next frame to judge. */
    public long nextFrame;
    /** The gate's per-channel state ({@link SpeechGate#stateSize()} floats); null before the first frame. */
    public float[] gateState;
    /** Ring of the latest decisions, one window long. */
    public boolean[] recent;

    public int recentPosition;
    public int recentCount;

    public SpeechTrack() {}

    /** The decisions of the frames one window judged: new frames from {@code firstFrame}, and their loudness. */
    public record Hop(long firstFrame, boolean[] speech, double speechSumOfSquares, int speechFrames) {
        /** Fraction of the new frames judged speech; 0 without any. */
        public float ratio() {
            return speech.length == 0 ? 0f : (float) speechFrames / speech.length;
        }
    }

    /**
     * Judges the frames that end within the window's real audio, {@code samples[0..validSamples)} starting at channel
     * sample {@code windowStart} (negative when left-padded), and that no earlier window judged.
     */
    Hop advance(SpeechGate gate, float[] samples, long windowStart, int validSamples) {
        int frame = gate.frameSamples();
        if (gateState == null || gateState.length != gate.stateSize()) {
            gateState = new float[gate.stateSize()];
        }
        long firstInWindow = Math.floorDiv(Math.max(0, windowStart) + frame - 1, frame);
        long first = Math.max(nextFrame, firstInWindow);
        if (first > nextFrame && nextFrame > 0) {
            Arrays.fill(gateState, 0f); // frames were skipped: the gate's memory no longer fits
        }
        long end = Math.floorDiv(windowStart + validSamples, frame);
        int frames = (int) Math.max(0, end - first);
        boolean[] speech = new boolean[frames];
        int offset = (int) (first * frame - windowStart);
        gate.judge(samples, offset, frames, gateState, speech);
        double sumOfSquares = 0;
        int speechFrames = 0;
        for (int f = 0; f < frames; f++) {
            if (speech[f]) {
                speechFrames++;
                for (int n = offset + f * frame, last = n + frame; n < last; n++) {
                    sumOfSquares += (double) samples[n] * samples[n];
                }
            }
        }
        nextFrame = Math.max(nextFrame, end);
        return new Hop(first, speech, sumOfSquares, speechFrames);
    }
}
