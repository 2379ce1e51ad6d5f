package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AlertKind;
import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped streaming model ({@code models/merit-sparse-stream.onnx}) in the whole job on Kafka: a shipped call comes
 * out with one event per window (each pooled by analytics' classifier), its enhanced audio cut from the streamed hops
 * once and in order, and the customer's alert in the scripted angry segment, as the window model raises it.
 */
class StreamingModelITCase {
    private static final int HOP = 16_000;
    private static final double ALERT_TOLERANCE_S = 3.0;

    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aShippedCallThroughTheStreamingModel(@TempDir Path checkpoints) throws Exception {
        Path model = Path.of("..", "models", "merit-sparse-stream.onnx").toAbsolutePath();
        assertThat(model).as("the committed streaming model").exists();
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        CallPipeline.Call call = CallPipeline.loadCall("call-01");
        String suffix = KafkaFlinkCluster.freshSuffix();
        Configuration options = CallPipeline.jobOptions(kafka, suffix);
        options.setString("inference.model.path", model.toString());
        String session = "call-01-" + suffix;
        CallPipeline.produce(kafka, KafkaSettings.fromConfiguration(options).inputTopic(), session, call);

        StreamExecutionEnvironment env = CLUSTER.environment(CallPipeline.flinkOptions(checkpoints));
        env.enableCheckpointing(1_000);
        CallPipeline.boundedJob(options).execute(env);
        CallPipeline.Outputs out = CallPipeline.readCommitted(kafka, options);

        for (String channel : CallPipeline.CHANNELS) {
            int samples = call.samples(channel);
            List<EmotionEvent> events = out.emotionEvents().stream()
                    .filter(e -> e.getChannel().equals(channel))
                    .toList();
            assertThat(events.stream().map(EmotionEvent::getWindowIndex).sorted())
                    .as("%s: one event per window, none failed", channel)
                    .containsExactlyElementsOf(
                            LongStream.range(0, samples / HOP + 1).boxed().toList());
            assertThat(events).allSatisfy(e -> {
                var p = e.getProbabilities();
                assertThat(p.getAngry() + p.getSad() + p.getHappy() + p.getNeutral())
                        .isBetween(0.999f, 1.001f);
                assertThat(e.getModelVersion()).startsWith("merit-sparse-stream");
            });

            List<EnhancedAudioChunk> chunks = out.enhancedAudio().stream()
                    .filter(c -> c.getChannel().equals(channel))
                    .toList();
            CallPipeline.assertEnhancedAudioCoversTheCall(channel, chunks, samples);
            Files.createDirectories(Path.of("target", "e2e"));
            CallPipeline.writeWav(Path.of("target", "e2e", "stream." + channel + ".enhanced.wav"), chunks);
        }

        double[] angry = call.span("customer", "angry");
        List<EmotionAlert> starts = out.emotionAlerts().stream()
                .filter(a -> a.getChannel().equals("customer") && a.getKind() == AlertKind.NEGATIVE_SPIKE_START)
                .toList();
        assertThat(starts)
                .as(
                        "the customer's alert inside the angry segment %.1f-%.1f s (±%.0f s)",
                        angry[0], angry[1], ALERT_TOLERANCE_S)
                .anySatisfy(a -> {
                    assertThat(a.getTimeMs() / 1000.0)
                            .isBetween(angry[0] - ALERT_TOLERANCE_S, angry[1] + ALERT_TOLERANCE_S);
                    assertThat(a.getEvidence().getDominant()).isEqualTo(Emotion.ANGRY);
                });
        assertThat(out.emotionAlerts().stream().filter(a -> a.getChannel().equals("agent")))
                .as("the calm agent raises none")
                .isEmpty();
    }
}
