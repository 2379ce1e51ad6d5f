package io.meritstream.evaluation;

import io.meritstream.cli.audio.WavAudio;
import io.meritstream.inference.SpeakerReferenceInputs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Evaluates manifest entries one by one: the noisy audio through {@link WindowedInference}, the emotion label against
 * the mean window probabilities, the noisy input and the overlap-added output against the clean reference. An entry
 * without an emotion counts only for SE, one without a clean reference only for SER.
 */
public final class Evaluator {
    private final WindowedInference inference;
    private final List<String> classes;

    /** The summary item and a JSON-ready record of one entry. */
    public record Outcome(EvaluationSummary.Item item, Map<String, Object> record) {}

    public Evaluator(WindowedInference inference, List<String> classes) {
        this.inference = inference;
        this.classes = List.copyOf(classes);
    }

    /** Checks what can be checked before any model call: files exist, labels are classes of the model. */
    public void validate(List<Manifest.Entry> entries, Path manifest) {
        for (Manifest.Entry e : entries) {
            if (!java.nio.file.Files.isRegularFile(e.noisy())) {
                throw new IllegalArgumentException(
                        manifest + " line " + e.line() + ": noisy file " + e.noisy() + " does not exist");
            }
            if (e.clean() != null && !java.nio.file.Files.isRegularFile(e.clean())) {
                throw new IllegalArgumentException(
                        manifest + " line " + e.line() + ": clean file " + e.clean() + " does not exist");
            }
            if (e.emotion() != null && !classes.contains(e.emotion())) {
                throw new IllegalArgumentException(manifest + " line " + e.line() + ": emotion '" + e.emotion()
                        + "' is not one of the model's classes " + classes);
            }
        }
    }

    public Outcome evaluate(Manifest.Entry e) throws Exception {
        return evaluate(e, null);
    }

    /** As {@link #evaluate(Manifest.Entry)}, judged against {@code reference} (null: none). */
    public Outcome evaluate(Manifest.Entry e, SpeakerReferenceInputs.Row reference) throws Exception {
        float[] noisy = readMono16k(e.noisy());
        WindowedInference.Result r = inference.run(noisy, reference);
        Integer label = e.emotion() == null ? null : classes.indexOf(e.emotion());
        int pred = WindowedInference.argmax(r.probabilities());
        EvaluationSummary.SeScores se = null;
        if (e.clean() != null) {
            se = EvaluationSummary.SeScores.of(readMono16k(e.clean()), noisy, r.enhanced());
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("line", e.line());
        record.put("noisy", e.id());
        record.put("label", label);
        record.put("pred", pred);
        List<Float> probs = new ArrayList<>();
        for (float p : r.probabilities()) {
            probs.add(p);
        }
        record.put("probs", probs);
        record.put("windows", r.windows());
        record.put("snr_db", e.snrDb());
        record.put("noise", e.noise());
        record.put("noise_seen", e.noiseSeen());
        record.put("speaker", e.speaker());
        record.put("reference_weight", reference == null ? 0f : reference.weight());
        if (se != null) {
            record.putAll(se.asMap());
        }
        return new Outcome(new EvaluationSummary.Item(label, pred, e.snrDb(), e.noiseSeen(), e.noise(), se), record);
    }

    /** Evaluates every entry in order, reporting the count done after each. */
    public List<Outcome> evaluateAll(List<Manifest.Entry> entries, IntConsumer progress) throws Exception {
        return evaluateAll(entries, null, progress);
    }

    /** As {@link #evaluateAll(List, IntConsumer)}, entry i judged against {@code references.get(i)} (null: none). */
    public List<Outcome> evaluateAll(
            List<Manifest.Entry> entries, List<SpeakerReferenceInputs.Row> references, IntConsumer progress)
            throws Exception {
        List<Outcome> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Manifest.Entry e = entries.get(i);
            try {
                out.add(evaluate(e, references == null ? null : references.get(i)));
            } catch (IOException | IllegalArgumentException ex) {
                throw new IllegalArgumentException("line " + e.line() + " (" + e.id() + "): " + ex.getMessage(), ex);
            }
            progress.accept(out.size());
        }
        return out;
    }

    /**
     * A WAV file as 16 kHz mono floats: channels averaged and other rates resampled with scipy's polyphase filter, as
     * the Python evaluation's {@code read_wav} does, so both evaluations start from the same samples.
     */
    static float[] readMono16k(Path file) throws IOException {
        WavAudio.Audio audio = WavAudio.read(file);
        float[][] ch = audio.channels();
        if (ch.length == 0 || audio.frames() == 0) {
            throw new IOException(file + ": no audio");
        }
        float[] mono;
        if (ch.length == 1) {
            mono = ch[0];
        } else {
            mono = new float[audio.frames()];
            for (int i = 0; i < mono.length; i++) {
                double s = 0;
                for (float[] c : ch) {
                    s += c[i];
                }
                mono[i] = (float) (s / ch.length);
            }
        }
        if (audio.sampleRate() == SpeechMetrics.SAMPLE_RATE) {
            return mono;
        }
        double[] x = new double[mono.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = mono[i];
        }
        double[] y = Resample.poly(x, SpeechMetrics.SAMPLE_RATE, audio.sampleRate());
        float[] out = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            out[i] = (float) y[i];
        }
        return out;
    }
}
