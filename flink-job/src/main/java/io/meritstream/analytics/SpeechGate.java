package io.meritstream.analytics;

/**
 * Judges speech frame by frame along one channel's timeline: the speech gate of trends, alerts and the conversation
 * metrics. A gate may carry state from frame to frame ({@link #stateSize()} floats per channel, kept by the caller in
 * keyed state, zeros at the start of a channel), so frames must be judged in timeline order.
 *
 * <p>One instance per operator instance (scratch buffers, a model session): not thread-safe.
 */
public interface SpeechGate extends AutoCloseable {
    /** What judged the frames, as written into the call summaries ('silero-vad-v5' or 'energy'). */
    String name();

    /** Samples per frame at 16 kHz. */
    int frameSamples();

    /** Floats of per-channel state carried from frame to frame; 0 when each frame is judged alone. */
    int stateSize();

    /**
     * Judges {@code frames} consecutive frames of {@code samples}, the first starting at {@code offset}, into {@code
     * speech[0..frames)}; reads and updates {@code state} ({@link #stateSize()} floats).
     */
    void judge(float[] samples, int offset, int frames, float[] state, boolean[] speech);

    @Override
    void close();

    /** The gate {@code config} asks for. */
    static SpeechGate of(AnalyticsConfig config) {
        return switch (config.speechGate) {
            case SILERO -> SileroSpeechGate.load(config.sileroThreshold);
            case ENERGY -> new EnergySpeechGate(SpeechActivity.of(config, ChannelAnalytics.SAMPLE_RATE));
        };
    }

    /** The detectors {@code analytics.vad.kind} chooses from. */
    enum Kind {
        SILERO,
        ENERGY
    }
}
