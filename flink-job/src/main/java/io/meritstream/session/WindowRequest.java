package io.meritstream.session;

import io.meritstream.avro.WindowFlag;
import io.meritstream.ingest.StreamKey;
import java.util.Arrays;
import java.util.Objects;

/**
 * One analysis window of one channel: the output of the {@link SessionWindower} and the input of inference. A Flink
 * POJO (public fields, no-arg constructor).
 *
 * <p>Timeline: sample {@code p} of a channel is the {@code p}-th sample at 16 kHz from the start of the channel's first
 * frame (seq 0, or the first one that arrived when earlier ones never did), gap-filled silence included. A window covers
 * {@code [startSample, startSample + samples.length)}; consecutive windows start {@link #hopSamples} apart and every
 * window but the final one ends where the timeline stood when it was emitted. So the audio new in a window is its last
 * {@code hopSamples} (all of window 0 when it is not emitted early), and in the final window the part from {@code
 * samples.length - hopSamples} to {@link #validSamples}, which may be empty. Positions before 0 (early windows) and
 * from {@code validSamples} on (the final window) are zeros, not audio.
 */
public class WindowRequest {
    public String sessionId;
    public String channel;
    /** Window number within (sessionId, channel), from 0, without holes. */
    public long windowIndex;
    /** Timeline position of {@code samples[0]}; negative for early windows that are left-padded with zeros. */
    public long startSample;
    /** Distance in samples from this window's start to the next one's. */
    public int hopSamples;
    /**
     * The window's samples at 16 kHz: the configured window length, or for a streaming model only its last hop and the
     * model's context ({@link #chunkOffset} then says where they start in the window).
     */
    public float[] samples;
    /** Position of {@code samples[0]} in the window: 0, or window length minus chunk for a streaming model. */
    public int chunkOffset;
    /**
     * Samples from the window start up to the end of the channel's timeline: the window length except on a final window
     * that ends before the window does, where the samples from here on are zero padding.
     */
    public int validSamples;
    /** True on the channel's last window (end of stream or idle timeout); analytics closes the channel on it. */
    public boolean finalWindow;
    /** Conditions of this window; never null, no duplicates. */
    public WindowFlag[] flags = new WindowFlag[0];
    /** Arrival time at the job of the newest frame in the window, epoch ms: the start of end-to-end latency. */
    public long lastArrivalMs;
    /**
     * Capture time of timeline position 0, epoch ms, from the first frame's timestamp; a window's audio was captured at
     * {@code streamStartMs + startSample / 16}.
     */
    public long streamStartMs;
    /**
     * The window's prosody features ({@link io.meritstream.speaker.ProsodyAnalyzer}), or null when the model takes no
     * speaker reference.
     */
    public float[] prosody;
    /** The channel's speaker reference as of this window (mean then std per feature), or null with {@link #prosody}. */
    public float[] speakerRef;
    /** The reference's weight in segments; 0 = no reference yet (warm-up, or the option is off). */
    public float speakerRefWeight;
    /** Seconds of speech the reference was built from; 0 when none was used. */
    public float referenceSpeechSeconds;

    public WindowRequest() {}

    public boolean hasFlag(WindowFlag flag) {
        for (WindowFlag f : flags) {
            if (f == flag) {
                return true;
            }
        }
        return false;
    }

    public String streamKey() {
        return StreamKey.of(sessionId, channel);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof WindowRequest other)) {
            return false;
        }
        return windowIndex == other.windowIndex
                && startSample == other.startSample
                && hopSamples == other.hopSamples
                && validSamples == other.validSamples
                && chunkOffset == other.chunkOffset
                && finalWindow == other.finalWindow
                && lastArrivalMs == other.lastArrivalMs
                && streamStartMs == other.streamStartMs
                && Objects.equals(sessionId, other.sessionId)
                && Objects.equals(channel, other.channel)
                && Arrays.equals(samples, other.samples)
                && Arrays.equals(flags, other.flags)
                && Arrays.equals(prosody, other.prosody)
                && Arrays.equals(speakerRef, other.speakerRef)
                && speakerRefWeight == other.speakerRefWeight
                && referenceSpeechSeconds == other.referenceSpeechSeconds;
    }

    @Override
    public int hashCode() {
        return Objects.hash(sessionId, channel, windowIndex);
    }

    @Override
    public String toString() {
        return "WindowRequest{" + streamKey() + " #" + windowIndex + " start=" + startSample + " valid=" + validSamples
                + "/" + (samples == null ? 0 : samples.length) + " flags=" + Arrays.toString(flags)
                + (finalWindow ? " FINAL" : "") + "}";
    }
}
