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
 */
public record MeritOutput(
        float[][] enhanced,
        float[][] emotionLogits,
        long[][] routingSe,
        long[][] routingSer,
        float[][][] gateSe,
        float[][][] gateSer) {

    /** Whether the model routes frames to experts (Sparse MERIT, dense MoE) and so has routing outputs. */
    public boolean hasRouting() {
        return routingSe != null;
    }
}
