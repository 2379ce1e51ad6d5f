package io.meritstream.inference;

/**
 * What one model call returns for a batch of B windows padded to N samples.
 *
 * @param enhanced enhanced waveform [B][N] (a streaming encoder: each row's hop plus its cross-fade, [B][H + X])
 * @param emotionLogits emotion logits [B][C], in the model card's class order; null from a streaming encoder
 * @param routingSe expert chosen by the SE gate per 20 ms frame [B][T], or null for models without experts
 * @param routingSer expert chosen by the SER gate per 20 ms frame [B][T], or null for models without experts
 * @param serFrames a streaming encoder's SER features of each row's hop [B][F·D]; null for window models
 * @param frameDb a streaming encoder's frame levels in dB [B][F]; null for window models
 */
public record BatchOutput(
        float[][] enhanced,
        float[][] emotionLogits,
        long[][] routingSe,
        long[][] routingSer,
        float[][] serFrames,
        float[][] frameDb) {

    /** A window model's output. */
    public BatchOutput(float[][] enhanced, float[][] emotionLogits, long[][] routingSe, long[][] routingSer) {
        this(enhanced, emotionLogits, routingSe, routingSer, null, null);
    }

    static BatchOutput of(MeritOutput out) {
        return new BatchOutput(
                out.enhanced(), out.emotionLogits(), out.routingSe(), out.routingSer(), out.serFrames(), out.frameDb());
    }

    /** Whether this came from a streaming encoder (SER features instead of logits). */
    public boolean isStreaming() {
        return serFrames != null;
    }
}
