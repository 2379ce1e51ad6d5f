package io.meritstream.inference;

import io.meritstream.avro.WindowFlag;
import io.meritstream.ingest.StreamKey;

/**
 * The model's output for one analysis window of one channel: the output of inference and the input of analytics.
 * Carries the window's identity and timing through inference so that analytics needs nothing else. A Flink POJO.
 *
 * <p>When inference failed for good (after its retry), {@link #failure} says why and the model outputs are null; the
 * window still flows on so that analytics keeps sequence order and can report the gap.
 */
public class WindowResult {
    public String sessionId;
    public String channel;
    /** Window number within (sessionId, channel), from 0, as emitted by the windower. */
    public long windowIndex;
    /** Position of the window's first sample in the channel's 16 kHz timeline (negative when left-padded). */
    public long startSample;
    /** Window length in samples (e.g. 48000 for 3 s). */
    public int windowSamples;
    /** Hop in samples (e.g. 16000 for 1 s): how far the next window starts after this one. */
    public int hopSamples;
    /** Samples of real audio from the window start; the rest is zero padding (only on a final, partial window). */
    public int validSamples;
    /** True on the last window of the channel (end of stream or idle timeout). */
    public boolean finalWindow;

    public WindowFlag[] flags = new WindowFlag[0];
    /** Arrival time at the job of the newest frame in the window, epoch ms: the start of end-to-end latency. */
    public long lastArrivalMs;

    /**
     * Enhanced waveform, 16 kHz, from {@link #enhancedStartSample}: the whole window for a window model, the hop plus
     * its cross-fade for a streaming one; null when {@link #failure} is set.
     */
    public float[] enhanced;
    /** Timeline position of {@code enhanced[0]}: the window start for a window model. */
    public long enhancedStartSample;
    /**
     * Softmax of the emotion logits in the model card's class order (angry, sad, happy, neutral); null on failure, and
     * from a streaming model until analytics' classifier fills it in from {@link #serFrames}.
     */
    public float[] emotionProbabilities;
    /** A streaming model's SER features of the window's newest hop, [F·D] frame-major; null for window models. */
    public float[] serFrames;
    /** A streaming model's frame levels in dB of the newest hop [F]; null for window models. */
    public float[] frameDb;
    /** The window's speaker-reference inputs, carried for a streaming model's classifier; null otherwise. */
    public float[] prosody;

    public float[] speakerRef;
    public float speakerRefWeight;
    /** Frames the SE task routed to each expert; empty for models without experts. */
    public int[] routingSe = new int[0];
    /** Frames the SER task routed to each expert; empty for models without experts. */
    public int[] routingSer = new int[0];
    /** Seconds of this channel's speech the model's speaker reference held; 0 when it judged the window alone. */
    public float referenceSpeechSeconds;
    /** Model name and version from its card. */
    public String modelVersion;
    /** Why inference failed for this window, or null. */
    public String failure;

    public WindowResult() {}

    public boolean failed() {
        return failure != null;
    }

    public String streamKey() {
        return StreamKey.of(sessionId, channel);
    }
}
