package io.meritstream.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code /usr/bin/python3 -m merit.bench} from the repository's {@code model/} directory as a subprocess: the
 * PyTorch side of the bench (eager timings, the flop count, the MoE-block export). Debian's interpreter, because only
 * it has torch here (DESIGN.md); {@code OPENBLAS_NUM_THREADS=1} because OpenBLAS threads fight OpenMP's on few cores.
 */
public final class PythonSide {
    public static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path modelDir;

    private PythonSide(Path modelDir) {
        this.modelDir = modelDir;
    }

    /**
     * The Python side, or why it is unavailable: no {@code /usr/bin/python3}, or no {@code model/merit/bench.py} under
     * {@code merit.home} (set by {@code bin/merit}) or the working directory.
     */
    public static Availability locate() {
        if (!Files.isExecutable(PYTHON)) {
            return new Availability(null, PYTHON + " is missing (Debian's python3 with torch runs the PyTorch side)");
        }
        List<Path> candidates = new ArrayList<>();
        String home = System.getProperty("merit.home");
        if (home != null) {
            candidates.add(Path.of(home, "model"));
        }
        candidates.add(Path.of("model").toAbsolutePath());
        for (Path dir : candidates) {
            if (Files.isRegularFile(dir.resolve("merit/bench.py"))) {
                return new Availability(new PythonSide(dir), null);
            }
        }
        return new Availability(
                null,
                "model/merit/bench.py not found (looked in " + candidates + "); run from the"
                        + " repository or through bin/merit");
    }

    /** A Python side, or the reason there is none. */
    public record Availability(PythonSide side, String missingReason) {
        public Optional<PythonSide> get() {
            return Optional.ofNullable(side);
        }
    }

    /** {@code python3 -m merit.bench ARGS}: the last line of its output that is a JSON object. */
    public JsonNode benchJson(List<String> args, long timeoutSeconds) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString(), "-m", "merit.bench"));
        command.addAll(args);
        String out = run(command, timeoutSeconds);
        String[] lines = out.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String line = lines[i].trim();
            if (line.startsWith("{")) {
                return JSON.readTree(line);
            }
        }
        throw new IOException("merit.bench printed no JSON line; its output ended: " + tail(out));
    }

    /** The command line a report should show for {@code args}. */
    public String describe(List<String> args) {
        return "cd " + modelDir + " && OPENBLAS_NUM_THREADS=1 " + PYTHON + " -m merit.bench " + String.join(" ", args);
    }

    private String run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(modelDir.toFile());
        builder.environment().put("OPENBLAS_NUM_THREADS", "1");
        builder.environment().put("PYTHONPATH", modelDir.toString());
        builder.redirectErrorStream(true);
        Process process = builder.start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("merit.bench ran past " + timeoutSeconds + " s and was stopped");
        }
        String out = output.join();
        if (process.exitValue() != 0) {
            throw new IOException("merit.bench exited with " + process.exitValue() + ": " + tail(out));
        }
        return out;
    }

    private static String readAll(InputStream in) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            in.transferTo(bytes);
            return bytes.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(output unreadable: " + e.getMessage() + ")";
        }
    }

    private static String tail(String out) {
        String trimmed = out.strip();
        return trimmed.length() <= 600 ? trimmed : "..." + trimmed.substring(trimmed.length() - 600);
    }
}
