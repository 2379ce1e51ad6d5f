package io.meritstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.analytics.AnalyticsOptions;
import io.meritstream.inference.InferenceOptions;
import io.meritstream.job.IngestOptions;
import io.meritstream.job.KafkaOptions;
import io.meritstream.job.KafkaSettings;
import io.meritstream.job.MeritStreamJob;
import io.meritstream.session.WindowingConfig;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * No Kubernetes cluster is reachable from the build, so the manifests in {@code deploy/k8s} are checked here: they
 * parse, have the fields the Flink Kubernetes Operator and Strimzi require, every job option in the FlinkDeployment is
 * a {@link ConfigOption} the job declares (a misspelt key would be silently ignored at run time) and the whole set is
 * accepted by {@link MeritStreamJob#fromConfiguration}, and every topic the job uses has a KafkaTopic.
 */
class DeploymentManifestsTest {
    /** Surefire runs in the module directory. */
    private static final Path K8S = Path.of("..", "deploy", "k8s");

    private static final List<Class<?>> JOB_OPTION_CLASSES = List.of(
            KafkaOptions.class,
            IngestOptions.class,
            InferenceOptions.class,
            AnalyticsOptions.class,
            WindowingConfig.class);

    /** Flink options the job's command line may also carry (main passes them to the environment). */
    private static final List<Class<?>> FLINK_OPTION_CLASSES = List.of(
            CheckpointingOptions.class, PipelineOptions.class, RestartStrategyOptions.class, StateBackendOptions.class);

    private static Map<String, Object> deployment;
    private static List<Map<String, Object>> topics;

    @BeforeAll
    static void load() throws IOException {
        List<Map<String, Object>> deployments = documents("flinkdeployment.yaml");
        assertThat(deployments).hasSize(1);
        deployment = deployments.get(0);
        topics = documents("kafka-topics.yaml");
    }

    @Test
    void flinkDeploymentHasTheOperatorsRequiredFields() {
        assertThat(deployment.get("apiVersion")).isEqualTo("flink.apache.org/v1beta1");
        assertThat(deployment.get("kind")).isEqualTo("FlinkDeployment");
        assertThat(string(deployment, "metadata", "name")).isNotBlank();
        assertThat(string(deployment, "spec", "image")).isNotBlank();
        assertThat(string(deployment, "spec", "flinkVersion")).matches("v2_\\d+");
        assertThat(string(deployment, "spec", "serviceAccount")).isNotBlank();
        for (String role : List.of("jobManager", "taskManager")) {
            assertThat(string(deployment, "spec", role, "resource", "memory")).matches("\\d+[mg]");
            assertThat(map(deployment, "spec", role, "resource")).containsKey("cpu");
        }
        assertThat(string(deployment, "spec", "job", "jarURI")).isEqualTo("local:///opt/flink/usrlib/merit-job.jar");
        assertThat(string(deployment, "spec", "job", "entryClass")).isEqualTo(MeritStreamJob.class.getName());
        assertThat(string(deployment, "spec", "job", "upgradeMode")).isIn("stateless", "savepoint", "last-state");
    }

    @Test
    void taskManagersGetAGpuAndTheJobUsesCuda() {
        List<?> containers = (List<?>)
                map(deployment, "spec", "taskManager", "podTemplate", "spec").get("containers");
        @SuppressWarnings("unchecked")
        Map<String, Object> main = containers.stream()
                .map(c -> (Map<String, Object>) c)
                .filter(c -> "flink-main-container".equals(c.get("name")))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no flink-main-container in the TaskManager pod template"));
        assertThat(String.valueOf(map(main, "resources", "limits").get("nvidia.com/gpu")))
                .isEqualTo("1");
        assertThat(jobArgs()).containsEntry(InferenceOptions.DEVICE.key(), "cuda");
    }

    @Test
    void everyJobArgumentIsAnOptionOfTheJobAndTheJobAcceptsThem() {
        Set<String> known = new TreeSet<>(optionKeys(JOB_OPTION_CLASSES));
        known.addAll(optionKeys(FLINK_OPTION_CLASSES));
        assertThat(known).contains(KafkaOptions.BOOTSTRAP_SERVERS.key(), InferenceOptions.DEVICE.key());
        Map<String, String> args = jobArgs();
        assertThat(args).isNotEmpty();
        for (String key : args.keySet()) {
            assertThat(known.contains(key) || key.startsWith(KafkaOptions.PROPERTIES_PREFIX))
                    .as("job argument --%s is not an option of the job", key)
                    .isTrue();
        }
        // Parses and validates every option as main does (nothing connects to Kafka or loads the model here).
        MeritStreamJob.fromConfiguration(Configuration.fromMap(args));
    }

    @Test
    void clusterConfigurationLoadsOrtParentFirstAndReportsToPrometheus() throws ClassNotFoundException {
        Map<String, Object> conf = map(deployment, "spec", "flinkConfiguration");
        assertThat(String.valueOf(conf.get("classloader.parent-first-patterns.additional")))
                .contains("ai.onnxruntime");
        // ONNX Runtime's native code overflows the default 1 MB Java thread stack (see deploy/local/start).
        assertThat(String.valueOf(conf.get("env.java.opts.taskmanager"))).contains("-Xss");
        assertThat(conf.get("metrics.reporter.prom.factory.class"))
                .isEqualTo(PrometheusReporterFactory.class.getName());
        // MeritStreamJob.main reads only its arguments: a job option here would be silently ignored.
        Set<String> jobKeys = optionKeys(JOB_OPTION_CLASSES);
        assertThat(conf.keySet())
                .as("job options belong in job.args, not flinkConfiguration")
                .doesNotContainAnyElementsOf(jobKeys);
        for (Object value : conf.values()) {
            assertThat(value)
                    .as("flinkConfiguration values are strings or numbers")
                    .isNotInstanceOf(Map.class);
        }
    }

    @Test
    void everyTopicTheJobUsesIsAStrimziKafkaTopic() {
        Map<String, String> args = jobArgs();
        KafkaSettings kafka = KafkaSettings.fromConfiguration(Configuration.fromMap(args));
        Set<String> used = new TreeSet<>(List.of(
                kafka.inputTopic(),
                kafka.dlqTopic(),
                args.getOrDefault(
                        KafkaOptions.ENHANCED_AUDIO_TOPIC.key(), KafkaOptions.ENHANCED_AUDIO_TOPIC.defaultValue()),
                args.getOrDefault(
                        KafkaOptions.EMOTION_EVENTS_TOPIC.key(), KafkaOptions.EMOTION_EVENTS_TOPIC.defaultValue()),
                args.getOrDefault(
                        KafkaOptions.EMOTION_TRENDS_TOPIC.key(), KafkaOptions.EMOTION_TRENDS_TOPIC.defaultValue()),
                args.getOrDefault(
                        KafkaOptions.EMOTION_ALERTS_TOPIC.key(), KafkaOptions.EMOTION_ALERTS_TOPIC.defaultValue())));
        assertThat(used).hasSize(6);
        Set<String> declared = new TreeSet<>();
        for (Map<String, Object> topic : topics) {
            assertThat(topic.get("apiVersion")).isEqualTo("kafka.strimzi.io/v1beta2");
            assertThat(topic.get("kind")).isEqualTo("KafkaTopic");
            String name = string(topic, "metadata", "name");
            assertThat(map(topic, "metadata", "labels").get("strimzi.io/cluster"))
                    .as("%s: strimzi.io/cluster label", name)
                    .isNotNull();
            assertThat((Integer) map(topic, "spec").get("partitions")).as(name).isPositive();
            assertThat((Integer) map(topic, "spec").get("replicas")).as(name).isPositive();
            declared.add(name);
        }
        assertThat(declared).containsAll(used);
    }

    @Test
    void dockerfileBuildsTheGpuJobJarAndPutsOrtOnTheClusterClasspath() throws IOException {
        String dockerfile = Files.readString(K8S.resolve("Dockerfile"));
        assertThat(dockerfile)
                .contains("-Pgpu")
                .contains("/opt/flink/usrlib/merit-job.jar")
                .contains("onnxruntime_gpu-")
                .contains("/opt/flink/lib/");
        String jar = string(deployment, "spec", "job", "jarURI").substring("local://".length());
        assertThat(dockerfile).contains(jar);
    }

    /** {@code job.args} as key → value, checking they come as {@code --key value} pairs. */
    private static Map<String, String> jobArgs() {
        List<?> args = (List<?>) map(deployment, "spec", "job").get("args");
        assertThat(args.size() % 2).as("job.args come in --key value pairs").isZero();
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            String key = String.valueOf(args.get(i));
            assertThat(key).as("job.args[%d]", i).startsWith("--");
            assertThat(args.get(i + 1))
                    .as("value of %s must be a string in YAML", key)
                    .isInstanceOf(String.class);
            out.put(key.substring(2), (String) args.get(i + 1));
        }
        return out;
    }

    /** Keys of the public static ConfigOption fields of the classes. */
    static Set<String> optionKeys(List<Class<?>> classes) {
        Set<String> keys = new TreeSet<>();
        for (Class<?> type : classes) {
            for (Field field : type.getFields()) {
                if (Modifier.isStatic(field.getModifiers()) && ConfigOption.class.isAssignableFrom(field.getType())) {
                    try {
                        keys.add(((ConfigOption<?>) field.get(null)).key());
                    } catch (IllegalAccessException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        }
        return keys;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> documents(String file) throws IOException {
        Load load = new Load(LoadSettings.builder().build());
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object document : load.loadAllFromString(Files.readString(K8S.resolve(file)))) {
            assertThat(document).as(file).isInstanceOf(Map.class);
            out.add((Map<String, Object>) document);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> root, String... path) {
        Object node = root;
        for (String key : path) {
            assertThat(node).as("%s", String.join(".", path)).isInstanceOf(Map.class);
            node = ((Map<String, Object>) node).get(key);
            assertThat(node).as("missing %s", String.join(".", path)).isNotNull();
        }
        assertThat(node).as("%s", String.join(".", path)).isInstanceOf(Map.class);
        return (Map<String, Object>) node;
    }

    private static String string(Map<String, Object> root, String... path) {
        String[] parent = java.util.Arrays.copyOf(path, path.length - 1);
        Object value = (parent.length == 0 ? root : map(root, parent)).get(path[path.length - 1]);
        assertThat(value).as("%s", String.join(".", path)).isInstanceOf(String.class);
        return (String) value;
    }
}
