package io.meritstream.ingest;

/**
 * A validated input frame decoded to float samples in [-1, 1] at its own sample rate: the output of {@link FrameDecoder}
 * and the input of {@link FrameResampler}. A Flink POJO.
 */
public class NativeFrame extends ChannelFrame {
    /** One of the supported input rates. */
    public int sampleRate;
    /** Where the record came from, for a dead letter of a later stage ({@link #from}). */
    public String sourceTopic;

    public int sourcePartition;
    public long sourceOffset;
    /** The record's Kafka key, or null. */
    public byte[] sourceKey;
    /** The record's value, cut to the dead letters' bound; null once no later stage can reject the frame. */
    public byte[] sourceValue;
    /** Size of the record's value before the cut. */
    public int sourceValueBytes;

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

    /**
     * Notes where the frame was read from and keeps up to {@code maxValueBytes} of the record's value, for a dead letter
     * of a later stage ({@code StreamGuard}); returns this.
     */
    public NativeFrame from(IngestRecord record, int maxValueBytes) {
        sourceTopic = record.topic;
        sourcePartition = record.partition;
        sourceOffset = record.offset;
        sourceKey = record.key;
        byte[] value = record.value == null ? new byte[0] : record.value;
        sourceValue = value.length <= maxValueBytes ? value : java.util.Arrays.copyOf(value, maxValueBytes);
        sourceValueBytes = value.length;
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
