package io.meritstream.cli;

import io.meritstream.cli.job.JobLauncher;
import io.meritstream.cli.job.MiniClusterJobLauncher;
import io.meritstream.inference.OrtModelLoader;
import io.meritstream.job.MeritStreamJob;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Option;

/** Options of the job that {@code demo} and {@code run} start (a picocli mixin). */
public final class JobOptions {
    @Option(
            names = "--model",
            paramLabel = "PATH",
            description = "Exported model (.onnx, with its .json model card beside it). Default: the model packaged"
                    + " with the job (classpath /models/merit-sparse.onnx).")
    Path model;

    @Option(
            names = "--device",
            defaultValue = "cpu",
            description =
                    "Where the model runs: cpu, cuda or cuda:N (needs the -Pgpu build) (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(
            names = {"-p", "--parallelism"},
            defaultValue = "2",
            description = "Parallelism of the job, and slots of the local cluster (default: ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(
            names = "--checkpoint-interval",
            defaultValue = "1s",
            description = "Checkpoint interval; the exactly-once sinks (enhanced audio, dead letters) publish at each"
                    + " checkpoint, so it is also their output's delay (default: ${DEFAULT-VALUE}).")
    String checkpointInterval;

    @Option(
            names = {"-D", "--job-option"},
            paramLabel = "KEY=VALUE",
            description = "Any Flink or job option, e.g. -D analytics.alert.enter-threshold=0.5 or"
                    + " -D inference.batch.max=16; wins over the options above.")
    Map<String, String> extra = new LinkedHashMap<>();

    /** The job's configuration: these options over {@code base}. */
    Configuration configuration(Map<String, String> base) {
        Map<String, String> map = new LinkedHashMap<>(base);
        if (model != null) {
            map.put("inference.model.path", model.toAbsolutePath().toString());
        }
        map.put("inference.device", device);
        map.put("parallelism.default", String.valueOf(parallelism));
        map.put("execution.checkpointing.interval", checkpointInterval);
        // Windows waiting for inference are checkpointed (tens of MB): more than the JobManager's 5 MB in-memory
        // checkpoint storage takes, so checkpoints go to files.
        map.put("execution.checkpointing.storage", "filesystem");
        map.put("execution.checkpointing.dir", checkpointDir().toUri().toString());
        map.putAll(extra);
        return Configuration.fromMap(map);
    }

    @Option(
            names = "--checkpoint-dir",
            paramLabel = "DIR",
            description = "Where checkpoints are written (default: a new temporary directory).")
    Path checkpointDir;

    private Path temporaryCheckpointDir;

    /** Deletes the checkpoint directory if it is a temporary one made by {@link #configuration}; after the job ended. */
    void deleteTemporaryCheckpoints() {
        if (temporaryCheckpointDir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(temporaryCheckpointDir)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            // A leftover temporary directory is harmless.
        }
    }

    private Path checkpointDir() {
        if (checkpointDir == null) {
            try {
                checkpointDir = Files.createTempDirectory("merit-checkpoints-");
                temporaryCheckpointDir = checkpointDir;
            } catch (IOException e) {
                throw new CliException("cannot create a checkpoint directory: " + e.getMessage(), e);
            }
        }
        return checkpointDir.toAbsolutePath();
    }

    /** Refuses a missing model before anything starts. */
    void checkModel() {
        if (parallelism < 1) {
            throw new CliException("--parallelism must be at least 1, got " + parallelism, 2, null);
        }
        if (model != null) {
            if (!Files.isRegularFile(model)) {
                throw new CliException("--model " + model + ": no such file", 2, null);
            }
            return;
        }
        if (OrtModelLoader.class.getResource(OrtModelLoader.DEFAULT_MODEL_RESOURCE) == null) {
            throw new CliException(
                    "this build has no default model (classpath " + OrtModelLoader.DEFAULT_MODEL_RESOURCE
                            + "); give one with --model PATH, e.g. --model"
                            + " flink-job/src/test/resources/fixtures/sparse_merit_fixture.onnx (an untrained fixture)",
                    2,
                    null);
        }
    }

    /** How the job is started: the job's own Kafka-to-Kafka topology, on a MiniCluster in this JVM. */
    static JobLauncher launcher() {
        return new MiniClusterJobLauncher(MeritStreamJob::buildFromConfiguration);
    }
}
