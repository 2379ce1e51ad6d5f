package io.meritstream.ingest;

import java.util.Arrays;
import java.util.Objects;

/**
 * A validated input frame, decoded to float samples in [-1, 1] at 16 kHz mono. The output of ingest and the input of
 * the per-session windower. Public fields and a no-arg constructor make it a Flink POJO (no Kryo).
 */
public class DecodedFrame {
    /** The model's sample rate; every decoded frame is at this rate. */
    public static final int SAMPLE_RATE = 16_000;

    public String sessionId;
    public String channel;
    /** Frame number within (sessionId, channel), from 0. */
    public long seq;
    /** Capture time of the first sample, epoch ms, as sent by the producer. */
    public long timestampMs;
    /** Samples at 16 kHz; may be empty on an end-of-stream frame. */
    public float[] samples;

    public boolean endOfStream;
    /** Wall-clock time the frame was read from Kafka, epoch ms; the start of end-to-end latency. */
    public long arrivalMs;

    public DecodedFrame() {}

    public DecodedFrame(
            String sessionId,
            String channel,
            long seq,
            long timestampMs,
            float[] samples,
            boolean endOfStream,
            long arrivalMs) {
        this.sessionId = sessionId;
        this.channel = channel;
        this.seq = seq;
        this.timestampMs = timestampMs;
        this.samples = samples;
        this.endOfStream = endOfStream;
        this.arrivalMs = arrivalMs;
    }

    /** The key of the per-channel stream: sessionId and channel. */
    public String streamKey() {
        return sessionId + "/" + channel;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DecodedFrame other)) {
            return false;
        }
        return seq == other.seq
                && timestampMs == other.timestampMs
                && endOfStream == other.endOfStream
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
        return "DecodedFrame{" + streamKey() + " seq=" + seq + " samples=" + (samples == null ? 0 : samples.length)
                + (endOfStream ? " EOS" : "") + "}";
    }
}
