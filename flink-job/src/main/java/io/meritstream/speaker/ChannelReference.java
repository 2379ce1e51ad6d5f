package io.meritstream.speaker;

/**
 * A channel's {@link SpeakerReference} and the segment waiting to join it. A window may enter the reference only once
 * no later window overlaps it: the reference a window is judged against never contains its own audio. A Flink POJO.
 */
public class ChannelReference {
    public static final long NONE = Long.MIN_VALUE;

    public SpeakerReference reference = new SpeakerReference();
    /** Timeline start of the waiting segment, or {@link #NONE}. */
    public long pendingStart = NONE;

    public double[] pendingFeatures;
    public int pendingActiveFrames;
    public int pendingVoicedFrames;
    /** The earliest start of the next segment: segments do not overlap, like separate utterances. */
    public long nextSegmentStart = NONE;

    public ChannelReference() {}
}
