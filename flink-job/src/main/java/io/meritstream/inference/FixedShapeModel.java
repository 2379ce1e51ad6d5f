package io.meritstream.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Runs a {@link WindowModel} on a few fixed input shapes only: the batch is padded with silent rows to the next size of
 * {@link #batchSizes} and every row to {@code samples}, and the outputs are cut back. For GPUs: cuDNN searches for the
 * fastest convolution algorithm per input shape on the first call with it, which takes far longer than a call, so a
 * model that saw a new batch size mid-call would miss the call's deadline. {@link #warmUp} runs every shape once at load
 * time, before the job takes windows.
 *
 * <p>Padding does not change a window's results: rows are independent (no batch-dependent layers in inference mode),
 * and the job's windows already all have {@code samples} samples (a final window is zero-padded by the windower).
 */
final class FixedShapeModel implements WindowModel {
    private final WindowModel model;
    private final int samples;
    private final int[] batchSizes;

    /**
     * @param batchMax the largest batch the batcher sends ({@code inference.batch.max})
     * @param samples the window length every call is padded to
     */
    FixedShapeModel(WindowModel model, int batchMax, int samples) {
        if (samples < model.minSamples()) {
            throw new IllegalArgumentException(
                    "fixed window length " + samples + " is shorter than the model's minimum " + model.minSamples());
        }
        this.model = model;
        this.samples = samples;
        this.batchSizes = batchSizes(batchMax);
    }

    /** Powers of two below {@code batchMax}, then {@code batchMax}: at most 1 + log2 shapes to warm up. */
    static int[] batchSizes(int batchMax) {
        List<Integer> sizes = new ArrayList<>();
        for (int b = 1; b < batchMax; b *= 2) {
            sizes.add(b);
        }
        sizes.add(batchMax);
        return sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Runs each fixed shape once on silence, so that no first call with it happens under a deadline. With "no
     * reference" rows, which a model without the speaker-reference inputs ignores.
     */
    void warmUp() throws Exception {
        for (int b : batchSizes) {
            model.run(
                    new float[b][samples],
                    SpeakerReferenceInputs.of(Collections.nCopies(b, SpeakerReferenceInputs.Row.NONE)),
                    new ModelCall());
        }
    }

    @Override
    public BatchOutput run(float[][] batch) throws Exception {
        return cut(model.run(pad(batch)), batch);
    }

    @Override
    public BatchOutput run(float[][] batch, ModelCall call) throws Exception {
        return cut(model.run(pad(batch), call), batch);
    }

    @Override
    public BatchOutput run(float[][] batch, SpeakerReferenceInputs reference, ModelCall call) throws Exception {
        return cut(model.run(pad(batch), pad(reference, bucket(batch.length)), call), batch);
    }

    private int bucket(int rows) {
        for (int b : batchSizes) {
            if (b >= rows) {
                return b;
            }
        }
        throw new IllegalArgumentException("batch of " + rows + " windows is larger than the largest fixed size "
                + batchSizes[batchSizes.length - 1]);
    }

    private float[][] pad(float[][] batch) {
        int n = batch.length == 0 ? 0 : batch[0].length;
        if (n > samples) {
            throw new IllegalArgumentException(
                    "window of " + n + " samples is longer than the fixed length " + samples);
        }
        float[][] padded = new float[bucket(batch.length)][];
        for (int i = 0; i < padded.length; i++) {
            if (i >= batch.length) {
                padded[i] = new float[samples]; // a silent row
            } else {
                padded[i] = n == samples ? batch[i] : Arrays.copyOf(batch[i], samples);
            }
        }
        return padded;
    }

    private static SpeakerReferenceInputs pad(SpeakerReferenceInputs reference, int rows) {
        float[][] prosody = Arrays.copyOf(reference.prosody(), rows);
        float[][] speakerRef = Arrays.copyOf(reference.speakerRef(), rows);
        float[] weight = Arrays.copyOf(reference.weight(), rows);
        for (int i = reference.weight().length; i < rows; i++) {
            prosody[i] = new float[reference.prosody()[0].length];
            speakerRef[i] = new float[reference.speakerRef()[0].length];
        }
        return new SpeakerReferenceInputs(prosody, speakerRef, weight);
    }

    private static BatchOutput cut(BatchOutput out, float[][] batch) {
        int rows = batch.length;
        int n = rows == 0 ? 0 : batch[0].length;
        float[][] enhanced = new float[rows][];
        for (int i = 0; i < rows; i++) {
            // A streaming encoder's rows are never padded in length (every chunk has the same), only in number.
            boolean whole = out.isStreaming() || out.enhanced()[i].length == n;
            enhanced[i] = whole ? out.enhanced()[i] : Arrays.copyOf(out.enhanced()[i], n);
        }
        return new BatchOutput(
                enhanced,
                out.emotionLogits() == null ? null : Arrays.copyOf(out.emotionLogits(), rows),
                out.routingSe() == null ? null : Arrays.copyOf(out.routingSe(), rows),
                out.routingSer() == null ? null : Arrays.copyOf(out.routingSer(), rows),
                out.serFrames() == null ? null : Arrays.copyOf(out.serFrames(), rows),
                out.frameDb() == null ? null : Arrays.copyOf(out.frameDb(), rows));
    }

    @Override
    public ModelCard.Streaming streaming() {
        return model.streaming();
    }

    @Override
    public boolean usesSpeakerReference() {
        return model.usesSpeakerReference();
    }

    @Override
    public List<String> classes() {
        return model.classes();
    }

    @Override
    public int expertCount() {
        return model.expertCount();
    }

    @Override
    public String version() {
        return model.version();
    }

    @Override
    public int minSamples() {
        return model.minSamples();
    }

    @Override
    public int frameCount(int n) {
        return model.frameCount(n);
    }

    @Override
    public void close() throws Exception {
        model.close();
    }

    @Override
    public String toString() {
        return model + " (fixed shapes: batch " + Arrays.toString(batchSizes) + " x " + samples + " samples)";
    }
}
