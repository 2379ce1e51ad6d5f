package io.meritstream.ingest;

/**
 * A validated input frame decoded to float samples in [-1, 1] at its own sample rate: the output of {@link FrameDecoder}
 * and the input of {@link FrameResampler}. A Flink POJO.
 */
public class NativeFrame {
    public String sessionId;
    public String channel;
    public long seq;
    public long timestampMs;
    /** One of the supported input rates. */
    public int sampleRate;

    public float[] samples;
    public boolean endOfStream;
    /** Wall-clock time the frame was read from Kafka, epoch ms. */
    public long arrivalMs;

    public NativeFrame() {}

    public NativeFrame(
            String sessionId,
            String channel,
            long seq,
            long timestampMs,
            int sampleRate,
            float[] samples,
            boolean endOfStream,
            long arrivalMs) {
        this.sessionId = sessionId;
        this.channel = channel;
        this.seq = seq;
        this.timestampMs = timestampMs;
        this.sampleRate = sampleRate;
        this.samples = samples;
        this.endOfStream = endOfStream;
        this.arrivalMs = arrivalMs;
    }

    /** The same key as {@link DecodedFrame#streamKey()}, so that both sides of the resampler are partitioned alike. */
    public String streamKey() {
        return sessionId + "/" + channel;
    }

    @Override
    public String toString() {
        return "NativeFrame{" + streamKey() + " seq=" + seq + " " + sampleRate + " Hz samples="
                + (samples == null ? 0 : samples.length) + (endOfStream ? " EOS" : "") + "}";
    }
}
