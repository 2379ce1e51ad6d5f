package io.meritstream.inference;

/**
 * What one model call returns for a batch of B windows padded to N samples.
 *
 * @param enhanced enhanced waveform [B][N]
 * @param emotionLogits emotion logits [B][C], in the model card's class order
 * @param routingSe expert chosen by the SE gate per 20 ms frame [B][T], or null for models without experts
 * @param routingSer expert chosen by the SER gate per 20 ms frame [B][T], or null for models without experts
 */
public record BatchOutput(float[][] enhanced, float[][] emotionLogits, long[][] routingSe, long[][] routingSer) {}
