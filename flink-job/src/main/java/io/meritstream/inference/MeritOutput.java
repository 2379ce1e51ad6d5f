package io.meritstream.inference;

/**
 * Everything one {@link MeritModel} call returns for a batch of B waveforms padded to N samples.
 *
 * @param enhanced enhanced waveform [B][N]
 * @param emotionLogits emotion logits [B][C], in the model card's class order
 * @param routingSe expert chosen by the SE gate per 20 ms frame [B][T]; null for models without experts
 * @param routingSer expert chosen by the SER gate per 20 ms frame [B][T]; null for models without experts
 * @param gateSe SE gate probabilities [B][T][E]; null for models without experts
 * @param gateSer SER gate probabilities [B][T][E]; null for models without experts
 * @param serFrames a streaming encoder's SER features of the hop, [B][F·D] (frame-major); null for window models
 * @param frameDb a streaming encoder's frame levels in dB [B][F]; null for window models
 */
public record MeritOutput(
        float[][] enhanced,
        float[][] emotionLogits,
        long[][] routingSe,
        long[][] routingSer,
        float[][][] gateSe,
        float[][][] gateSer,
        float[][] serFrames,
        float[][] frameDb) {

    public MeritOutput(
            float[][] enhanced,
            float[][] emotionLogits,
            long[][] routingSe,
            long[][] routingSer,
            float[][][] gateSe,
            float[][][] gateSer) {
        this(enhanced, emotionLogits, routingSe, routingSer, gateSe, gateSer, null, null);
    }

    /** A streaming encoder's output: no logits, no gate probabilities. */
    static MeritOutput streaming(
            float[][] enhanced, float[][] serFrames, float[][] frameDb, long[][] routingSe, long[][] routingSer) {
        return new MeritOutput(enhanced, null, routingSe, routingSer, null, null, serFrames, frameDb);
    }

    /** Whether the model routes frames to experts (Sparse MERIT, dense MoE) and so has routing outputs. */
    public boolean hasRouting() {
        return routingSe != null;
    }
}
