package io.meritstream.session;

import io.meritstream.speaker.ChannelReference;

/**
 * The {@link SessionWindower}'s bookkeeping for one channel, apart from the samples themselves. A Flink POJO of
 * primitives, one state entry per channel.
 */
public class StreamState {
    /** Marks a timestamp or position that is not set. */
    public static final long UNSET = Long.MIN_VALUE;

    public String sessionId;
    public String channel;
    /** The seq that continues the timeline; frames below it are duplicates, above it wait in the reorder buffer. */
    public long nextSeq;
    /** Samples in the timeline so far, gap-filled silence included. */
    public long samplesConsumed;
    /** Of those, the gap-filled silence. */
    public long silenceSamples;
    /** Index of the next window to emit. */
    public long nextWindowIndex;
    /** Frames in the reorder buffer (MapState has no size). */
    public int bufferedFrames;
    /** Length of the latest non-empty frame: the assumed length of a missing one. */
    public int lastFrameSamples;
    /** Timeline position just after the latest gap-filled silence; windows starting before it carry GAP_FILLED. */
    public long gapEndSample = UNSET;
    /** Newest arrival time among the frames in the timeline. */
    public long lastArrivalMs = UNSET;
    /** Capture time of timeline position 0, derived from the first real frame put into the timeline. */
    public long streamStartMs = UNSET;
    /** Processing time an end-of-stream frame began to wait in the reorder buffer for the frames it overtook. */
    public long endOfStreamWaitFromMs = UNSET;
    /** The one processing-time timer registered for this channel. */
    public long timerMs = UNSET;
    /** The channel's speaker reference; null when the model takes none. */
    public ChannelReference speakerReference;

    public StreamState() {}
}
