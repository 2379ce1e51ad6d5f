package io.meritstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.meritstream.evaluation.EvaluationSummary;
import io.meritstream.evaluation.Evaluator;
import io.meritstream.evaluation.Manifest;
import io.meritstream.evaluation.ManifestReferences;
import io.meritstream.evaluation.WindowedInference;
import io.meritstream.inference.InferenceDevice;
import io.meritstream.inference.ModelSpec;
import io.meritstream.inference.OrtModelLoader;
import io.meritstream.inference.SpeakerReferenceInputs;
import io.meritstream.inference.WindowModel;
import io.meritstream.session.WindowingConfig;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Scores a model on a test manifest through the job's own streaming inference path.",
            "",
            "Each noisy file is cut into the windower's windows (--window / --hop, early first window as in the job),"
                    + " every window runs through the job's ONNX Runtime model code, the enhanced windows are"
                    + " overlap-added by the analytics' OverlapAdd, and the utterance's emotion is the mean of the"
                    + " window probabilities.",
            "",
            "Manifest: JSON lines {\"noisy\": path, \"clean\": path?, \"emotion\": label?, \"snr_db\": x?, \"noise\":"
                    + " name?, \"noise_seen\": bool?}, paths relative to the manifest. Items without an emotion count"
                    + " only for SE, items without a clean reference only for SER.",
            "",
            "Metrics are those of model/merit/metrics.py (F1-macro/micro, accuracy, confusion; SSNR, SI-SDR, STOI of"
                    + " the noisy input and of the enhanced output against the clean reference); a test keeps the two"
                    + " implementations in agreement. The Python evaluation runs the model once per whole utterance,"
                    + " so its model numbers can differ from these windowed ones.",
            "",
            "Output (--out): {\"ser\", \"se\", \"by_snr\", \"by_noise\" (seen/unseen noise), \"by_condition\","
                    + " \"by_noise_type\", \"items\": n, plus the model, windowing and run time}.",
        },
        footer = {
            "",
            "Examples:",
            "  merit evaluate --manifest test.jsonl --out r.json",
            "  merit evaluate --manifest test.jsonl --model m.onnx --out r.json \\",
            "      --items items.jsonl --threads 2",
            "",
            "Exit codes: 0 ok, 1 failure while evaluating (unreadable audio, model error), 2 usage error (options,"
                    + " manifest, labels the model does not know).",
        })
public final class EvaluateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--manifest", required = true, paramLabel = "M.jsonl", description = "Test manifest (JSON lines).")
    Path manifest;

    @Option(
            names = "--model",
            paramLabel = "PATH",
            description = "ONNX model with its .json model card beside it. Default: the model packaged with the job.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "R.json", description = "Result JSON to write.")
    Path out;

    @Option(
            names = "--items",
            paramLabel = "ITEMS.jsonl",
            description = "Also write one JSON line per item (label, prediction, probabilities, windows, SE scores).")
    Path itemsOut;

    @Option(
            names = "--window",
            defaultValue = "3s",
            description = "Window length (as the job's windowing.window). " + "Default: ${DEFAULT-VALUE}.")
    String window;

    @Option(names = "--hop", defaultValue = "1s", description = "Hop (as windowing.hop). Default: ${DEFAULT-VALUE}.")
    String hop;

    @Option(
            names = "--early-first-window",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "Windows from the first hop on, left-padded (as windowing.early-first-window)."
                    + " Default: ${DEFAULT-VALUE}.")
    boolean earlyFirstWindow;

    @Option(
            names = "--threads",
            defaultValue = "0",
            description = "ONNX Runtime intra-op threads (0 = one per core). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--batch", defaultValue = "8", description = "Windows per model call. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(
            names = "--device",
            defaultValue = "cpu",
            description = "cpu or cuda[:N] (needs the -Pgpu build). " + "Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--limit", description = "Evaluate only the first N items.")
    Integer limit;

    @Option(
            names = "--speaker-reference",
            paramLabel = "N",
            defaultValue = "0",
            description = "For models with the speaker-reference inputs: judge each item against a reference of N"
                    + " random other items of the same 'speaker' (never one of the same 'utt'), as a call would after"
                    + " hearing them. 0 (default): no reference.")
    int referenceSize;

    @Option(
            names = "--reference-emotion",
            paramLabel = "EMOTION",
            description = "Draw the references only from items of this emotion (e.g. angry: the skewed-reference"
                    + " check).")
    String referenceEmotion;

    @Option(
            names = "--reference-seed",
            defaultValue = "0",
            description = "Seed of the reference draws. Default: ${DEFAULT-VALUE}.")
    long referenceSeed;

    @Override
    public Integer call() throws Exception {
        WindowingConfig windowing = windowing();
        if (threads < 0) {
            throw usage("--threads must be 0 or more, got " + threads);
        }
        if (batch < 1) {
            throw usage("--batch must be at least 1, got " + batch);
        }
        if (limit != null && limit < 1) {
            throw usage("--limit must be at least 1, got " + limit);
        }
        if (referenceSize < 0) {
            throw usage("--speaker-reference must be 0 or more, got " + referenceSize);
        }
        if (referenceEmotion != null && referenceSize == 0) {
            throw usage("--reference-emotion needs --speaker-reference N");
        }
        InferenceDevice inferenceDevice;
        try {
            inferenceDevice = InferenceDevice.parse("--device", device);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (!Files.isRegularFile(manifest)) {
            throw usage("manifest " + manifest + " does not exist or is not a file");
        }
        if (model != null && !Files.isRegularFile(model)) {
            throw usage("model " + model + " does not exist or is not a file");
        }
        List<Manifest.Entry> entries;
        try {
            entries = Manifest.read(manifest);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (limit != null && entries.size() > limit) {
            entries = entries.subList(0, limit);
        }
        if (entries.isEmpty()) {
            throw usage("manifest " + manifest + " has no items");
        }

        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        ModelSpec modelSpec = new ModelSpec(
                model == null ? null : model.toAbsolutePath().toString(), inferenceDevice, false, threads, 0);
        if (model == null && OrtModelLoader.class.getResource(OrtModelLoader.DEFAULT_MODEL_RESOURCE) == null) {
            throw usage("no --model given and this build packages no default model (classpath "
                    + OrtModelLoader.DEFAULT_MODEL_RESOURCE + "); pass --model PATH to an exported .onnx with its"
                    + " .json model card beside it");
        }
        if (streamingModel(modelSpec)) {
            throw usage("--model " + model + " is a streaming model (its card has a 'streaming' section): this command"
                    + " evaluates window models; compare a streaming model with its window model on calls with"
                    + " model/merit/stream_eval.py (README, Throughput)");
        }
        WindowModel windowModel;
        try {
            windowModel = new OrtModelLoader().load(modelSpec);
        } catch (Exception e) {
            throw new CliException("cannot load the model (" + modelSpec + "): " + e.getMessage(), e);
        }
        try (windowModel) {
            Evaluator evaluator =
                    new Evaluator(new WindowedInference(windowModel, windowing, batch), windowModel.classes());
            try {
                evaluator.validate(entries, manifest);
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            List<SpeakerReferenceInputs.Row> references = null;
            if (referenceSize > 0) {
                if (!windowModel.usesSpeakerReference()) {
                    throw usage("--speaker-reference: model " + windowModel.version()
                            + " takes no speaker reference (its card declares no speaker_reference inputs)");
                }
                if (referenceEmotion != null && !windowModel.classes().contains(referenceEmotion)) {
                    throw usage(
                            "--reference-emotion '" + referenceEmotion + "' is not one of " + windowModel.classes());
                }
                references = ManifestReferences.build(entries, referenceSize, referenceSeed, referenceEmotion);
            }
            err.println("merit evaluate: " + entries.size() + " items of " + manifest + " with "
                    + windowModel.version() + ", window " + windowing.windowSamples() + " / hop "
                    + windowing.hopSamples() + " samples");
            ProgressLine progress = new ProgressLine(err, System.console() != null);
            int total = entries.size();
            List<Evaluator.Outcome> outcomes;
            try {
                outcomes = evaluator.evaluateAll(
                        entries, references, done -> progress.update(progressText(done, total, t0)));
            } catch (IllegalArgumentException e) {
                throw new CliException("evaluation failed at " + manifest + " " + e.getMessage(), e);
            }
            progress.finish(progressText(total, total, t0));

            List<EvaluationSummary.Item> items = new ArrayList<>();
            for (Evaluator.Outcome o : outcomes) {
                items.add(o.item());
            }
            Map<String, Object> result = new LinkedHashMap<>(
                    EvaluationSummary.of(items, windowModel.classes().size()));
            result.put("classes", windowModel.classes());
            result.put("model", windowModel.version());
            result.put("manifest", manifest.toAbsolutePath().toString());
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("window_samples", windowing.windowSamples());
            w.put("hop_samples", windowing.hopSamples());
            w.put("early_first_window", windowing.earlyFirstWindow());
            w.put("utterance_emotion", "mean of the window probabilities");
            result.put("windowing", w);
            Map<String, Object> ref = new LinkedHashMap<>();
            ref.put("size", referenceSize);
            ref.put("emotion", referenceEmotion);
            ref.put("seed", referenceSeed);
            ref.put(
                    "items_with_reference",
                    references == null
                            ? 0
                            : references.stream().filter(r -> r.weight() > 0).count());
            result.put("speaker_reference", ref);
            result.put("seconds", Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            writeAtomically(out, json.writeValueAsString(result) + "\n");
            if (itemsOut != null) {
                StringBuilder lines = new StringBuilder();
                ObjectMapper compact = new ObjectMapper();
                for (Evaluator.Outcome o : outcomes) {
                    lines.append(compact.writeValueAsString(o.record())).append('\n');
                }
                writeAtomically(itemsOut, lines.toString());
            }
            PrintWriter stdout = spec.commandLine().getOut();
            stdout.println(headline(result));
            stdout.flush();
            err.println("merit evaluate: wrote " + out.toAbsolutePath());
            err.flush();
        }
        return 0;
    }

    /** Whether the model's card declares a streaming model; read before the graph is loaded. */
    private static boolean streamingModel(ModelSpec spec) {
        try {
            return OrtModelLoader.card(spec).isStreaming();
        } catch (IOException | RuntimeException e) {
            return false; // the load below reports what is wrong with the model and its card
        }
    }

    private WindowingConfig windowing() {
        Duration w = duration("--window", window);
        Duration h = duration("--hop", hop);
        try {
            return WindowingConfig.builder()
                    .window(w)
                    .hop(h)
                    .earlyFirstWindow(earlyFirstWindow)
                    .build();
        } catch (IllegalArgumentException e) {
            throw usage("--window " + window + " / --hop " + hop + ": " + e.getMessage());
        }
    }

    private Duration duration(String option, String value) {
        return DurationOption.parse(spec, option, value);
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private static String progressText(int done, int total, long t0) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        double rate = done / Math.max(1e-9, seconds);
        String eta = done == 0 ? "?" : String.format(Locale.ROOT, "%.0f s", (total - done) / rate);
        return String.format(
                Locale.ROOT,
                "%s %d/%d items, %.2f items/s, ETA %s",
                ProgressLine.bar(done / (double) total, 30),
                done,
                total,
                rate,
                eta);
    }

    @SuppressWarnings("unchecked")
    static String headline(Map<String, Object> result) {
        StringBuilder s = new StringBuilder("items " + result.get("items"));
        Map<String, Object> ser = (Map<String, Object>) result.get("ser");
        if (ser != null) {
            s.append(String.format(
                    Locale.ROOT,
                    " | SER F1-macro %.3f F1-micro %.3f accuracy %.3f",
                    ser.get("f1_macro"),
                    ser.get("f1_micro"),
                    ser.get("accuracy")));
        }
        Map<String, Object> se = (Map<String, Object>) result.get("se");
        if (se != null) {
            s.append(String.format(
                    Locale.ROOT,
                    " | SSNR %.2f -> %.2f dB, SI-SDR %.2f -> %.2f dB, STOI %.3f -> %.3f",
                    se.get("ssnr_noisy_db"),
                    se.get("ssnr_enhanced_db"),
                    se.get("si_sdr_noisy_db"),
                    se.get("si_sdr_enhanced_db"),
                    se.get("stoi_noisy"),
                    se.get("stoi_enhanced")));
        }
        return s.toString();
    }

    private static void writeAtomically(Path target, String text) throws java.io.IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            w.write(text);
        }
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
