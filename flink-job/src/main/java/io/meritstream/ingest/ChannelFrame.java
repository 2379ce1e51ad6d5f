package io.meritstream.ingest;

/**
 * What every frame of one channel of a session carries, whatever its sample rate: the common part of {@link
 * NativeFrame} (decoded, at the input's rate) and {@link DecodedFrame} (resampled to 16 kHz). Two types, not one with a
 * rate, so that the stages before and after the resampler cannot be wired up the wrong way round. Public fields: the
 * subclasses are Flink POJOs, and Flink's POJO serializer takes the fields of superclasses too.
 *
 * <p>Each subclass declares its own {@code streamKey()} (with {@link #streamKeyOf}) rather than inheriting one from
 * here: the job keys both streams with serializable method references ({@code NativeFrame::streamKey}, {@code
 * DecodedFrame::streamKey}) in one class, and javac's lambda deserialization cannot tell two references to the same
 * inherited method apart, so after serialization both key selectors would cast to the first one's type.
 */
public abstract class ChannelFrame {
    public String sessionId;
    public String channel;
    /** Frame number within (sessionId, channel), from 0. */
    public long seq;
    /** Capture time of the first sample, epoch ms, as sent by the producer. */
    public long timestampMs;
    /** Samples in [-1, 1]; may be empty on an end-of-stream frame. */
    public float[] samples;

    public boolean endOfStream;
    /**
     * Set on an end-of-stream frame that no producer sent: the stream guard closes a stream with one after {@code
     * windowing.idle-timeout} without frames, so that the idle close is decided in one place and every later stage
     * ends the stream at the same frame.
     */
    public boolean idleEnd;
    /** Wall-clock time the frame was read from Kafka, epoch ms; the start of end-to-end latency. */
    public long arrivalMs;

    protected ChannelFrame() {}

    protected ChannelFrame(
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

    /**
     * The key of the per-channel stream: sessionId and channel. The same for both frame types, so that both sides of
     * the resampler are partitioned alike.
     */
    protected static String streamKeyOf(ChannelFrame frame) {
        return StreamKey.of(frame.sessionId, frame.channel);
    }

    /** The number of samples, 0 for none. */
    protected int sampleCount() {
        return samples == null ? 0 : samples.length;
    }
}
