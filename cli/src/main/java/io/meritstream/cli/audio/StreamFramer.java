package io.meritstream.cli.audio;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.avro.AudioFrame;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Objects;

/**
 * Cuts one channel of audio into consecutive {@link AudioFrame}s of a fixed length: seq from 0 without gaps, capture
 * timestamps that follow the sample count, and {@code endOfStream} on the last frame (an empty one for empty audio).
 */
public final class StreamFramer {
    private final String sessionId;
    private final String channel;
    private final float[] samples;
    private final int sampleRate;
    private final int samplesPerFrame;
    private final AudioEncoding encoding;
    private final Map<String, String> attributes;

    public StreamFramer(
            String sessionId,
            String channel,
            float[] samples,
            int sampleRate,
            double frameMs,
            AudioEncoding encoding,
            Map<String, String> attributes) {
        this.sessionId = Objects.requireNonNull(sessionId, "sessionId");
        this.channel = Objects.requireNonNull(channel, "channel");
        this.samples = Objects.requireNonNull(samples, "samples");
        this.encoding = Objects.requireNonNull(encoding, "encoding");
        this.attributes = Map.copyOf(attributes);
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sample rate must be positive, was " + sampleRate);
        }
        this.sampleRate = sampleRate;
        this.samplesPerFrame = (int) Math.round(sampleRate * frameMs / 1000.0);
        if (samplesPerFrame < 1) {
            throw new IllegalArgumentException(
                    "a frame of " + frameMs + " ms at " + sampleRate + " Hz holds no sample; use a longer frame");
        }
    }

    public String sessionId() {
        return sessionId;
    }

    public String channel() {
        return channel;
    }

    public int samplesPerFrame() {
        return samplesPerFrame;
    }

    /** Number of frames: whole frames plus one for the remainder; one (empty, end of stream) for empty audio. */
    public int frameCount() {
        return Math.max(1, (samples.length + samplesPerFrame - 1) / samplesPerFrame);
    }

    /** Offset of frame {@code seq}'s first sample from the start of the channel, in milliseconds. */
    public double offsetMs(int seq) {
        return seq * (double) samplesPerFrame * 1000.0 / sampleRate;
    }

    /** Offset at which frame {@code seq} is complete (its last sample captured), in milliseconds. */
    public double readyAtMs(int seq) {
        int end = Math.min(samples.length, (seq + 1) * samplesPerFrame);
        return end * 1000.0 / sampleRate;
    }

    /** Frame {@code seq}, captured {@code startEpochMs} + its offset. */
    public AudioFrame frame(int seq, long startEpochMs) {
        int count = frameCount();
        if (seq < 0 || seq >= count) {
            throw new IndexOutOfBoundsException("frame " + seq + " of " + count);
        }
        int from = Math.min(samples.length, seq * samplesPerFrame);
        int to = Math.min(samples.length, from + samplesPerFrame);
        return AudioFrame.newBuilder()
                .setSessionId(sessionId)
                .setChannel(channel)
                .setSeq(seq)
                .setTimestampMs(startEpochMs + Math.round(offsetMs(seq)))
                .setSampleRate(sampleRate)
                .setEncoding(encoding)
                .setPayload(ByteBuffer.wrap(FrameEncoder.encode(encoding, samples, from, to)))
                .setEndOfStream(seq == count - 1)
                .setAttributes(Map.copyOf(attributes))
                .build();
    }
}
