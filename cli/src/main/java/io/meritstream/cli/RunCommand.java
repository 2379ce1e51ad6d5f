package io.meritstream.cli;

import io.meritstream.cli.job.RunningJob;
import io.meritstream.cli.kafka.OutputTopics;
import io.meritstream.job.KafkaOptions;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.JobStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs the job against an existing Kafka cluster, on a Flink MiniCluster in this JVM, until Ctrl-C. Reads"
                    + " AudioFrames from --input-topic and writes enhanced audio, emotion events, trends, alerts, call"
                    + " summaries and dead letters to their topics (events, trends and alerts at once and at least"
                    + " once; enhanced audio and dead letters exactly once, published at each checkpoint: see"
                    + " kafka.delivery.*).",
            "",
            "On a Flink cluster, submit the job jar instead (flink-job/target/merit-job.jar: the job without"
                    + " Flink, logging or ONNX Runtime, which the cluster provides; see deploy/local and deploy/k8s)."
                    + " It takes the same options as --key value program arguments, e.g.",
            "  flink run flink-job/target/merit-job.jar --kafka.bootstrap-servers broker:9092 \\",
            "      --kafka.properties.security.protocol SASL_SSL --inference.model.path /models/merit-sparse.onnx",
        },
        footer = {
            "",
            "Examples:",
            "  merit run -b broker:9092 --model models/merit-sparse.onnx",
            "  merit run -b broker:9093 --client-properties sasl.properties -D inference.batch.max=16",
        })
public final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaConnection kafka;

    @Option(names = "--input-topic", defaultValue = "audio-frames", description = "Default: ${DEFAULT-VALUE}.")
    String inputTopic;

    @Mixin
    OutputTopicOptions outputs;

    @Option(
            names = "--group-id",
            defaultValue = "merit-stream",
            description =
                    "Consumer group, also the prefix of the sinks' transactional ids (default: ${DEFAULT-VALUE}).")
    String groupId;

    @Option(
            names = "--starting-offsets",
            defaultValue = "committed",
            description = "earliest, latest, committed or timestamp:<epoch ms> (default: ${DEFAULT-VALUE}).")
    String startingOffsets;

    @Mixin
    JobOptions job;

    @Override
    public Integer call() throws Exception {
        job.checkModel();
        Map<String, String> base = new LinkedHashMap<>();
        // The client properties file goes to every consumer and producer of the job.
        Properties client = kafka.properties();
        for (String name : client.stringPropertyNames()) {
            if (!name.equals("bootstrap.servers")) {
                base.put(KafkaOptions.PROPERTIES_PREFIX + name, client.getProperty(name));
            }
        }
        base.put(KafkaOptions.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
        base.put(KafkaOptions.INPUT_TOPIC.key(), inputTopic);
        base.put(KafkaOptions.DLQ_TOPIC.key(), outputs.dlqTopic);
        base.put(KafkaOptions.GROUP_ID.key(), groupId);
        base.put(KafkaOptions.STARTING_OFFSETS.key(), startingOffsets);
        base.put(KafkaOptions.ENHANCED_AUDIO_TOPIC.key(), outputs.enhancedTopic);
        base.put(KafkaOptions.EMOTION_EVENTS_TOPIC.key(), outputs.eventsTopic);
        base.put(KafkaOptions.EMOTION_TRENDS_TOPIC.key(), outputs.trendsTopic);
        base.put(KafkaOptions.EMOTION_ALERTS_TOPIC.key(), outputs.alertsTopic);
        base.put(OutputTopics.CALL_SUMMARIES_OPTION, outputs.summariesTopic);

        PrintWriter err = spec.commandLine().getErr();
        AtomicBoolean stop = new AtomicBoolean();
        Thread main = Thread.currentThread();
        Shutdown.register(() -> {
            stop.set(true);
            main.interrupt();
        });
        RunningJob running = null;
        try {
            try {
                running = JobOptions.launcher().start(job.configuration(base));
            } catch (IllegalArgumentException e) {
                // The job's options are validated when the topology is built: a bad value is a usage error.
                throw new CliException(e.getMessage(), 2, e);
            }
            err.printf(
                    "run: job %s on a local Flink MiniCluster%s; reading %s at %s. Ctrl-C to stop.%n",
                    running.id(),
                    running.webUi().map(u -> " (web UI " + u + ")").orElse(""),
                    inputTopic,
                    kafka.bootstrapServers());
            err.flush();
            JobStatus last = null;
            while (!stop.get()) {
                JobStatus status;
                try {
                    status = running.status();
                } catch (InterruptedException e) {
                    // Ctrl-C: the loop checks the flag.
                    continue;
                }
                if (status != last) {
                    err.printf(Locale.ROOT, "run: job %s%n", status);
                    err.flush();
                    last = status;
                }
                if (status.isGloballyTerminalState()) {
                    throw jobStopped(status, running);
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    // Ctrl-C: the loop checks the flag.
                }
            }
        } finally {
            // The shutdown hook interrupts this thread; clear that so that closing the cluster can wait.
            Thread.interrupted();
            if (running != null) {
                err.println("run: stopping the job ...");
                err.flush();
                running.close();
            }
            job.deleteTemporaryCheckpoints();
            Shutdown.unregister();
        }
        return 130;
    }

    /** The error for a job that reached a terminal status: the status, and the failure that stopped it if any. */
    static CliException jobStopped(JobStatus status, RunningJob running) throws Exception {
        Optional<Throwable> why = running.failure();
        return new CliException(
                "the job stopped (" + status + ")"
                        + why.map(t -> ": " + Logging.describe(t)).orElse(""),
                why.orElse(null));
    }
}
