package io.meritstream.ingest;

/**
 * A validated input frame decoded to float samples in [-1, 1] at its own sample rate: the output of {@link FrameDecoder}
 * and the input of {@link FrameResampler}. A Flink POJO.
 */
public class NativeFrame extends ChannelFrame {
    /** One of the supported input rates. */
    public int sampleRate;
    /**
     * The record the frame was decoded from, for a dead letter of a later stage ({@code StreamGuard}); null once no
     * later stage can reject the frame.
     */
    public IngestRecord source;

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

    /** Notes the record the frame was decoded from; returns this. */
    public NativeFrame from(IngestRecord record) {
        source = record;
        return this;
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
