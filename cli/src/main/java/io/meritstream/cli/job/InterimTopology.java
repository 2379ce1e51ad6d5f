package io.meritstream.cli.job;

import io.meritstream.analytics.AnalyticsConfig;
import io.meritstream.analytics.AnalyticsStage;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.inference.Inference;
import io.meritstream.ingest.IngestRecord;
import io.meritstream.job.InferenceOptions;
import io.meritstream.job.IngestSettings;
import io.meritstream.job.KafkaConnectors;
import io.meritstream.job.KafkaSettings;
import io.meritstream.job.MeritStreamJob;
import io.meritstream.session.WindowRequest;
import io.meritstream.session.WindowingConfig;
import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.function.SerializableFunction;

/**
 * The whole job (decode, window, infer, analyse, five Kafka sinks) assembled from the flink-job stages, for the CLI
 * until {@code io.meritstream.job} has its own end-to-end entry point; then that replaces this class. The output
 * topics are read from {@code kafka.<role>-topic} keys with the README's defaults.
 */
public final class InterimTopology implements JobTopology {
    public static final ConfigOption<String> ENHANCED_TOPIC =
            ConfigOptions.key("kafka.enhanced-audio-topic").stringType().defaultValue("enhanced-audio");
    public static final ConfigOption<String> EVENTS_TOPIC =
            ConfigOptions.key("kafka.emotion-events-topic").stringType().defaultValue("emotion-events");
    public static final ConfigOption<String> TRENDS_TOPIC =
            ConfigOptions.key("kafka.emotion-trends-topic").stringType().defaultValue("emotion-trends");
    public static final ConfigOption<String> ALERTS_TOPIC =
            ConfigOptions.key("kafka.emotion-alerts-topic").stringType().defaultValue("emotion-alerts");

    @Override
    public void build(Configuration conf, StreamExecutionEnvironment env) {
        KafkaSettings kafka = KafkaSettings.fromConfiguration(conf);
        MeritStreamJob job = new MeritStreamJob(
                KafkaConnectors.audioFrameSource(kafka).build(),
                KafkaConnectors.deadLetterSink(kafka),
                new DiscardingSink<WindowRequest>(),
                IngestSettings.fromConfiguration(conf),
                WindowingConfig.fromConfiguration(conf));
        DataStream<IngestRecord> records = env.fromSource(
                        KafkaConnectors.audioFrameSource(kafka).build(),
                        WatermarkStrategy.noWatermarks(),
                        "audio-frames source")
                .uid(MeritStreamJob.UID_SOURCE);
        AnalyticsStage.Outputs outputs = AnalyticsStage.apply(
                Inference.apply(job.windows(records), InferenceOptions.settings(conf)),
                AnalyticsConfig.fromConfiguration(conf));
        sink(
                outputs.enhancedAudio(),
                kafka,
                conf.get(ENHANCED_TOPIC),
                EnhancedAudioChunk.class,
                c -> key(c.getSessionId()));
        sink(outputs.emotionEvents(), kafka, conf.get(EVENTS_TOPIC), EmotionEvent.class, e -> key(e.getSessionId()));
        sink(outputs.emotionTrends(), kafka, conf.get(TRENDS_TOPIC), EmotionTrend.class, t -> key(t.getSessionId()));
        sink(outputs.emotionAlerts(), kafka, conf.get(ALERTS_TOPIC), EmotionAlert.class, a -> key(a.getSessionId()));
    }

    private static <T extends SpecificRecord> void sink(
            DataStream<T> stream,
            KafkaSettings kafka,
            String topic,
            Class<T> type,
            SerializableFunction<T, byte[]> key) {
        stream.sinkTo(KafkaConnectors.avroSink(kafka, topic, type, key, DeliveryGuarantee.EXACTLY_ONCE)
                        .build())
                .name(topic + " sink")
                .uid(topic + "-sink");
    }

    private static byte[] key(String sessionId) {
        return sessionId.getBytes(StandardCharsets.UTF_8);
    }
}
