package io.meritstream.ingest;

import java.util.Arrays;
import java.util.Objects;

/**
 * A validated input frame, decoded to float samples in [-1, 1] at 16 kHz mono. The output of ingest and the input of
 * the per-session windower. Public fields and a no-arg constructor make it a Flink POJO (no Kryo).
 */
public class DecodedFrame extends ChannelFrame {
    /** The model's sample rate; every decoded frame is at this rate. */
    public static final int SAMPLE_RATE = 16_000;

    public DecodedFrame() {}

    /** {@code samples} at {@link #SAMPLE_RATE}. */
    public DecodedFrame(
            String sessionId,
            String channel,
            long seq,
            long timestampMs,
            float[] samples,
            boolean endOfStream,
            long arrivalMs) {
        super(sessionId, channel, seq, timestampMs, samples, endOfStream, arrivalMs);
    }

    /** The key of the per-channel stream: sessionId and channel. */
    public String streamKey() {
        return streamKeyOf(this);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DecodedFrame other)) {
            return false;
        }
        return seq == other.seq
                && timestampMs == other.timestampMs
                && endOfStream == other.endOfStream
                && idleEnd == other.idleEnd
                && arrivalMs == other.arrivalMs
                && Objects.equals(sessionId, other.sessionId)
                && Objects.equals(channel, other.channel)
                && Arrays.equals(samples, other.samples);
    }

    @Override
    public int hashCode() {
        return Objects.hash(sessionId, channel, seq);
    }

    @Override
    public String toString() {
        return "DecodedFrame{" + streamKey() + " seq=" + seq + " samples=" + sampleCount() + (endOfStream ? " EOS" : "")
                + "}";
    }
}
