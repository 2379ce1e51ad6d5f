package io.meritstream.inference;

/**
 * The model's raw output for one window, cut out of its batch: padding removed.
 *
 * @param enhanced enhanced waveform, as long as the window's input
 * @param emotionLogits emotion logits in the model card's class order
 * @param routingSe SE gate's expert per 20 ms frame of the window, or null for models without experts
 * @param routingSer SER gate's expert per 20 ms frame of the window, or null for models without experts
 */
public record WindowInference(float[] enhanced, float[] emotionLogits, long[] routingSe, long[] routingSer) {}
