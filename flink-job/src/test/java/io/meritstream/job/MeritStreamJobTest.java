package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.session.WindowingConfig;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.transformations.PartitionTransformation;
import org.apache.flink.streaming.api.transformations.SideOutputTransformation;
import org.junit.jupiter.api.Test;

/** The graph's shape, without running it: what savepoint compatibility and the web UI depend on. */
class MeritStreamJobTest {

    @Test
    void everyOperatorHasANameAndAStableUid() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        job().build(env);

        List<String> uids = new ArrayList<>();
        for (Transformation<?> t : allTransformations(env)) {
            if (t instanceof PartitionTransformation || t instanceof SideOutputTransformation) {
                continue; // virtual: no operator of their own
            }
            assertThat(t.getUid()).as("uid of %s", t.getName()).isNotBlank();
            assertThat(t.getName()).as("name of %s", t.getUid()).isNotBlank();
            uids.add(t.getUid());
        }
        assertThat(uids)
                .containsExactlyInAnyOrder(
                        MeritStreamJob.UID_SOURCE,
                        MeritStreamJob.UID_DECODE,
                        MeritStreamJob.UID_DEAD_LETTER_SINK,
                        MeritStreamJob.UID_RESAMPLE,
                        MeritStreamJob.UID_WINDOWER,
                        MeritStreamJob.UID_WINDOW_SINK);
    }

    private static MeritStreamJob job() {
        KafkaSettings kafka =
                KafkaSettings.fromConfiguration(Configuration.fromMap(Map.of("kafka.bootstrap-servers", "b:9092")));
        return new MeritStreamJob(
                KafkaConnectors.audioFrameSource(kafka).build(),
                KafkaConnectors.deadLetterSink(kafka),
                new DiscardingSink<>(),
                IngestSettings.defaults(),
                WindowingConfig.defaults());
    }

    private static Set<Transformation<?>> allTransformations(StreamExecutionEnvironment env) {
        Set<Transformation<?>> seen = new HashSet<>();
        Deque<Transformation<?>> todo = new ArrayDeque<>(env.getTransformations());
        while (!todo.isEmpty()) {
            Transformation<?> t = todo.pop();
            if (seen.add(t)) {
                todo.addAll(t.getInputs());
            }
        }
        return seen;
    }
}
