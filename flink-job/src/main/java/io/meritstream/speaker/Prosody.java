package io.meritstream.speaker;

/**
 * The prosody summary of one stretch of speech ({@link ProsodyAnalyzer}): {@link ProsodyAnalyzer#FEATURES} values, and
 * how much active and voiced speech they come from.
 *
 * @param features the values in {@link ProsodyAnalyzer#FEATURE_NAMES} order
 * @param activeFrames 20 ms frames within 30 dB of the loudest and above -55 dBFS
 * @param voicedFrames active frames with a pitch
 */
public record Prosody(double[] features, int activeFrames, int voicedFrames) {

    /**
     * Whether the stretch holds enough speech to enter a speaker's reference: 1 s active, 0.3 s voiced, and a level that
     * moves like speech (std at least 5 dB), which channel noise alone does not (see the Python twin).
     */
    public boolean enoughSpeech() {
        return activeFrames >= ProsodyAnalyzer.MIN_ACTIVE_FRAMES
                && voicedFrames >= ProsodyAnalyzer.MIN_VOICED_FRAMES
                && features[ProsodyAnalyzer.LEVEL_STD] >= ProsodyAnalyzer.MIN_LEVEL_STD_DB;
    }

    /** Seconds of active speech. */
    public double activeSeconds() {
        return activeFrames * ProsodyAnalyzer.FRAME_SECONDS;
    }

    public float[] featuresAsFloats() {
        float[] out = new float[features.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) features[i];
        }
        return out;
    }
}
