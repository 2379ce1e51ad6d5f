package io.meritstream.inference;

/**
 * The model's raw output for one window, cut out of its batch: padding removed.
 *
 * @param enhanced enhanced waveform, as long as the window's input
 * @param emotionLogits emotion logits in the model card's class order
 * @param routingSe SE gate's expert per 20 ms frame of the window, or null for models without experts
 * @param routingSer SER gate's expert per 20 ms frame of the window, or null for models without experts
 * @param serFrames a streaming encoder's SER features of the hop [F·D]; null for window models (which have logits)
 * @param frameDb a streaming encoder's frame levels in dB [F]; null for window models
 */
public record WindowInference(
        float[] enhanced,
        float[] emotionLogits,
        long[] routingSe,
        long[] routingSer,
        float[] serFrames,
        float[] frameDb) {

    /** A window model's output. */
    public WindowInference(float[] enhanced, float[] emotionLogits, long[] routingSe, long[] routingSer) {
        this(enhanced, emotionLogits, routingSe, routingSer, null, null);
    }
}
