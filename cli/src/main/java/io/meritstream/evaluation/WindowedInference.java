package io.meritstream.evaluation;

import io.meritstream.analytics.OverlapAdd;
import io.meritstream.inference.BatchOutput;
import io.meritstream.inference.ModelCall;
import io.meritstream.inference.ModelOutputs;
import io.meritstream.inference.SpeakerReferenceInputs;
import io.meritstream.inference.WindowModel;
import io.meritstream.session.WindowingConfig;
import io.meritstream.speaker.ProsodyAnalyzer;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a model over one utterance the way the streaming job does: cut into the windower's windows ({@link
 * StreamWindows}), each window through the job's {@link WindowModel} (in batches of windows, all of one length, so no
 * padding enters), emotion logits turned into probabilities by the job's {@link ModelOutputs#softmax}, and the
 * enhanced windows put back together by the analytics' {@link OverlapAdd} exactly as {@code ChannelAnalytics} feeds
 * it (add, drain up to the next window's start, finish after the final window).
 *
 * <p>The utterance's emotion is the mean of the per-window probabilities. The Python evaluation instead runs the model
 * once on the whole utterance; the two agree only as far as the model is insensitive to windowing and padding, which
 * is the point of evaluating the streaming path.
 */
public final class WindowedInference {
    private final WindowModel model;
    private final WindowingConfig config;
    private final int maxBatch;
    private final ProsodyAnalyzer analyzer = new ProsodyAnalyzer();

    /** What the stream makes of one utterance. */
    public record Result(float[] enhanced, float[] probabilities, int windows) {}

    public WindowedInference(WindowModel model, WindowingConfig config, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + maxBatch);
        }
        if (config.windowSamples() < model.minSamples()) {
            throw new IllegalArgumentException("window of " + config.windowSamples()
                    + " samples is shorter than the model's minimum input of " + model.minSamples() + " samples");
        }
        this.model = model;
        this.config = config;
        this.maxBatch = maxBatch;
    }

    public Result run(float[] audio) throws Exception {
        return run(audio, null);
    }

    /**
     * As {@link #run(float[])}, for a model with the speaker-reference inputs: every window gets its own prosody, as
     * the windower computes it, and {@code reference} (the utterance's speaker reference: {@code speakerRef} and {@code
     * weight}; null = none).
     */
    public Result run(float[] audio, SpeakerReferenceInputs.Row reference) throws Exception {
        if (audio.length == 0) {
            throw new IllegalArgumentException("empty audio");
        }
        List<StreamWindows.Window> windows = StreamWindows.cut(audio, config);
        int hop = config.hopSamples();
        int size = config.windowSamples();
        OverlapAdd ola = new OverlapAdd();
        ola.init(hop);
        List<OverlapAdd.Chunk> chunks = new ArrayList<>();
        double[] probabilitySum = null;
        for (int from = 0; from < windows.size(); from += maxBatch) {
            List<StreamWindows.Window> batch = windows.subList(from, Math.min(windows.size(), from + maxBatch));
            float[][] input = new float[batch.size()][];
            for (int b = 0; b < batch.size(); b++) {
                input[b] = batch.get(b).samples();
            }
            BatchOutput out = model.usesSpeakerReference()
                    ? model.run(input, referenceInputs(batch, reference), new ModelCall())
                    : model.run(input);
            for (int b = 0; b < batch.size(); b++) {
                StreamWindows.Window w = batch.get(b);
                float[] p = ModelOutputs.softmax(out.emotionLogits()[b]);
                if (probabilitySum == null) {
                    probabilitySum = new double[p.length];
                }
                for (int c = 0; c < p.length; c++) {
                    probabilitySum[c] += p[c];
                }
                int valid = Math.max(0, Math.min(w.validSamples(), size));
                ola.add(w.start(), size, out.enhanced()[b], valid);
                if (!w.finalWindow()) {
                    chunks.addAll(ola.drain(w.start() + hop));
                }
            }
        }
        chunks.addAll(ola.finish());
        float[] enhanced = new float[audio.length];
        for (OverlapAdd.Chunk chunk : chunks) {
            float[] s = chunk.samples();
            System.arraycopy(s, 0, enhanced, (int) chunk.startSample(), s.length);
        }
        float[] probabilities = new float[probabilitySum.length];
        for (int c = 0; c < probabilities.length; c++) {
            probabilities[c] = (float) (probabilitySum[c] / windows.size());
        }
        return new Result(enhanced, probabilities, windows.size());
    }

    private SpeakerReferenceInputs referenceInputs(
            List<StreamWindows.Window> batch, SpeakerReferenceInputs.Row reference) {
        List<SpeakerReferenceInputs.Row> rows = new ArrayList<>();
        for (StreamWindows.Window w : batch) {
            float[] prosody = analyzer.analyze(w.samples(), Math.max(0, Math.min(w.validSamples(), w.samples().length)))
                    .featuresAsFloats();
            rows.add(
                    reference == null
                            ? new SpeakerReferenceInputs.Row(prosody, null, 0f)
                            : new SpeakerReferenceInputs.Row(prosody, reference.speakerRef(), reference.weight()));
        }
        return SpeakerReferenceInputs.of(rows);
    }

    /** Index of the largest probability (the first on ties, as numpy's argmax). */
    public static int argmax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }
}
