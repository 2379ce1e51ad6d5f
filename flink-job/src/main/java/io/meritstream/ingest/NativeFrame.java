package io.meritstream.ingest;

/**
 * A validated input frame decoded to float samples in [-1, 1] at its own sample rate: the output of {@link FrameDecoder}
 * and the input of {@link FrameResampler}. A Flink POJO.
 */
public class NativeFrame extends ChannelFrame {
    /** One of the supported input rates. */
    public int sampleRate;

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
        super(sessionId, channel, seq, timestampMs, samples, endOfStream, arrivalMs);
        this.sampleRate = sampleRate;
    }

    /** The same key as {@link DecodedFrame#streamKey()}, so that both sides of the resampler are partitioned alike. */
    public String streamKey() {
        return streamKeyOf(this);
    }

    @Override
    public String toString() {
        return "NativeFrame{" + streamKey() + " seq=" + seq + " " + sampleRate + " Hz samples=" + sampleCount()
                + (endOfStream ? " EOS" : "") + "}";
    }
}
