package io.meritstream.session;

import io.meritstream.ingest.DecodedFrame;

/**
 * A frame that arrived ahead of a missing one and waits in the reorder buffer. Keeps only what the timeline needs, not
 * the session and channel that the key already holds. A Flink POJO.
 */
public class BufferedFrame {
    public float[] samples;
    public long timestampMs;
    public long arrivalMs;
    public boolean endOfStream;

    public BufferedFrame() {}

    static BufferedFrame of(DecodedFrame frame) {
        BufferedFrame buffered = new BufferedFrame();
        buffered.samples = frame.samples == null ? new float[0] : frame.samples;
        buffered.timestampMs = frame.timestampMs;
        buffered.arrivalMs = frame.arrivalMs;
        buffered.endOfStream = frame.endOfStream;
        return buffered;
    }
}
