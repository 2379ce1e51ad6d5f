package io.meritstream.analytics;

/**
 * A streaming model's SER features of a channel's latest hops, oldest first: what its classifier pools a window's
 * emotion over ({@link io.meritstream.inference.StreamingClassifier}). Part of {@link ChannelState} (a Flink POJO).
 *
 * <p>The hops held are consecutive windows ending at {@link #lastIndex}; a window without features (failed, missing)
 * breaks the run, and the next window is pooled over the hops from it on only, as at the start of a channel.
 */
public class EmotionHistory {
    /** Window index of the newest hop held; -1 before the first. */
    public long lastIndex = -1;
    /** SER features of the hops held, frame-major, oldest hop first. */
    public float[] frames = new float[0];
    /** Their frames' levels in dB (one per frame, so its length says how many frames are held). */
    public float[] frameDb = new float[0];

    public EmotionHistory() {}

    /**
     * Adds window {@code index}'s hop and keeps the newest {@code hopsPerWindow}.
     *
     * @return the frames now held (the classifier's T)
     */
    int push(long index, float[] hopFrames, float[] hopDb, int hopsPerWindow) {
        int frameCount = hopDb.length;
        int width = hopFrames.length / Math.max(1, frameCount);
        // A run continues only from the previous window, with hops of the same shape.
        boolean continues = index == lastIndex + 1
                && frameDb.length % Math.max(1, frameCount) == 0
                && frames.length == frameDb.length * width;
        int held = continues ? frameDb.length / Math.max(1, frameCount) : 0;
        int keep = Math.min(held, hopsPerWindow - 1);
        float[] newFrames = new float[(keep + 1) * frameCount * width];
        float[] newDb = new float[(keep + 1) * frameCount];
        System.arraycopy(frames, frames.length - keep * frameCount * width, newFrames, 0, keep * frameCount * width);
        System.arraycopy(frameDb, frameDb.length - keep * frameCount, newDb, 0, keep * frameCount);
        System.arraycopy(hopFrames, 0, newFrames, keep * frameCount * width, frameCount * width);
        System.arraycopy(hopDb, 0, newDb, keep * frameCount, frameCount);
        frames = newFrames;
        frameDb = newDb;
        lastIndex = index;
        return newDb.length;
    }

    /** Forgets the hops held: window {@code index} brought none. */
    void breakAt(long index) {
        frames = new float[0];
        frameDb = new float[0];
        lastIndex = index;
    }

    @Override
    public String toString() {
        return "EmotionHistory{last=" + lastIndex + ", frames=" + frameDb.length + "}";
    }
}
