package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.kafka.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SQL analytics path of the README: the job writes JSON ({@code kafka.value-format: json}), and Flink SQL with the
 * Kafka connector and the {@code json} format reads {@code emotion-events} and {@code emotion-alerts} and computes, per
 * call and minute, the share of negative (angry or sad) speech windows, the dominant emotion and the alert count. The
 * answer is checked against the same numbers computed here from the raw JSON records.
 */
class FlinkSqlJsonITCase {
    @RegisterExtension
    static final KafkaFlinkCluster CLUSTER = KafkaFlinkCluster.withSlots(2);

    /** The README's DDL, with the topics and brokers filled in. */
    static String eventsDdl(String topic, String servers) {
        return "CREATE TABLE emotion_events (\n"
                + "  sessionId STRING, channel STRING, windowIndex BIGINT, windowStartMs BIGINT, windowEndMs BIGINT,\n"
                + "  probabilities ROW<angry FLOAT, sad FLOAT, happy FLOAT, neutral FLOAT>,\n"
                + "  label STRING, confidence FLOAT, speechRatio FLOAT, speech BOOLEAN, modelVersion STRING\n"
                + ") WITH (" + kafkaTable(topic, servers) + ")";
    }

    static String alertsDdl(String topic, String servers) {
        return "CREATE TABLE emotion_alerts (\n"
                + "  sessionId STRING, channel STRING, kind STRING, timeMs BIGINT, windowIndex BIGINT, score FLOAT\n"
                + ") WITH (" + kafkaTable(topic, servers) + ")";
    }

    private static String kafkaTable(String topic, String servers) {
        return "'connector' = 'kafka', 'topic' = '" + topic + "', 'properties.bootstrap.servers' = '" + servers + "',"
                + " 'properties.isolation.level' = 'read_committed', 'scan.startup.mode' = 'earliest-offset',"
                + " 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'";
    }

    /** The README's query: per call and minute of the call. */
    static final String PER_CALL_AND_MINUTE =
            """
            WITH speech AS (
              -- DISTINCT: a job restart may repeat events (at-least-once); a repeat has the same channel and window
              SELECT DISTINCT sessionId, channel, windowIndex, windowStartMs / 60000 AS call_minute, label
              FROM emotion_events WHERE speech
            ),
            shares AS (
              SELECT sessionId, call_minute, COUNT(*) AS speech_windows,
                     CAST(SUM(CASE WHEN label IN ('ANGRY', 'SAD') THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS negative_share
              FROM speech GROUP BY sessionId, call_minute
            ),
            ranked AS (
              SELECT sessionId, call_minute, label,
                     ROW_NUMBER() OVER (PARTITION BY sessionId, call_minute ORDER BY n DESC, label) AS rank_in_minute
              FROM (SELECT sessionId, call_minute, label, COUNT(*) AS n FROM speech GROUP BY sessionId, call_minute, label)
            ),
            alerts AS (
              SELECT sessionId, call_minute, COUNT(*) AS alerts
              FROM (SELECT DISTINCT sessionId, channel, windowIndex, timeMs / 60000 AS call_minute
                    FROM emotion_alerts WHERE kind = 'NEGATIVE_SPIKE_START')
              GROUP BY sessionId, call_minute
            )
            SELECT s.sessionId, s.call_minute, s.speech_windows, s.negative_share, r.label AS dominant_emotion,
                   COALESCE(a.alerts, 0) AS alerts
            FROM shares s
            JOIN ranked r ON r.sessionId = s.sessionId AND r.call_minute = s.call_minute AND r.rank_in_minute = 1
            LEFT JOIN alerts a ON a.sessionId = s.sessionId AND a.call_minute = s.call_minute
            """;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void flinkSqlReadsTheJsonOutputAndSummarisesEachCallPerMinute(@TempDir Path checkpoints) throws Exception {
        EmbeddedKafkaBroker kafka = CLUSTER.kafka();
        String suffix = KafkaFlinkCluster.freshSuffix();
        Configuration options = CallPipeline.jobOptions(kafka, suffix);
        options.setString(KafkaOptions.VALUE_FORMAT.key(), "json");
        KafkaSettings topics = KafkaSettings.fromConfiguration(options);
        String session = "sql-call-01-" + suffix;
        CallPipeline.produce(kafka, topics.inputTopic(), session, CallPipeline.loadCall("call-01"));

        StreamExecutionEnvironment jobEnv = CLUSTER.environment(CallPipeline.flinkOptions(checkpoints));
        jobEnv.enableCheckpointing(1_000);
        CallPipeline.boundedJob(options).execute(jobEnv);

        StreamExecutionEnvironment sqlEnv = CLUSTER.environment(new Configuration());
        sqlEnv.setRuntimeMode(RuntimeExecutionMode.BATCH);
        StreamTableEnvironment sql = StreamTableEnvironment.create(sqlEnv);
        sql.executeSql(eventsDdl(topics.emotionEventsTopic(), kafka.bootstrapServers()));
        sql.executeSql(alertsDdl(topics.emotionAlertsTopic(), kafka.bootstrapServers()));
        Map<Long, Row> bySql = new TreeMap<>();
        try (CloseableIterator<Row> rows = sql.executeSql(PER_CALL_AND_MINUTE).collect()) {
            rows.forEachRemaining(row -> {
                assertThat(row.getField("sessionId")).isEqualTo(session);
                bySql.put((Long) row.getField("call_minute"), row);
            });
        }

        List<JsonNode> events = readJson(kafka, topics.emotionEventsTopic());
        List<JsonNode> alerts = readJson(kafka, topics.emotionAlertsTopic());
        Map<Long, List<JsonNode>> speechByMinute = new TreeMap<>();
        for (JsonNode e : events) {
            if (e.get("speech").asBoolean()) {
                speechByMinute
                        .computeIfAbsent(e.get("windowStartMs").asLong() / 60_000, m -> new ArrayList<>())
                        .add(e);
            }
        }
        assertThat(bySql.keySet())
                .as("minutes with speech")
                .isEqualTo(speechByMinute.keySet())
                .isNotEmpty();
        long sqlAlerts = 0;
        for (Map.Entry<Long, List<JsonNode>> minute : speechByMinute.entrySet()) {
            List<JsonNode> windows = minute.getValue();
            Row row = bySql.get(minute.getKey());
            long negative = windows.stream()
                    .filter(e -> List.of("ANGRY", "SAD").contains(e.get("label").asText()))
                    .count();
            assertThat(row.getField("speech_windows")).isEqualTo((long) windows.size());
            assertThat((Double) row.getField("negative_share"))
                    .isCloseTo(negative / (double) windows.size(), org.assertj.core.data.Offset.offset(1e-9));
            Map<String, Long> counts = new TreeMap<>();
            windows.forEach(e -> counts.merge(e.get("label").asText(), 1L, Long::sum));
            String dominant = counts.entrySet().stream()
                    .max(Comparator.<Map.Entry<String, Long>>comparingLong(Map.Entry::getValue)
                            .thenComparing(Map.Entry::getKey, Comparator.reverseOrder()))
                    .orElseThrow()
                    .getKey();
            assertThat(row.getField("dominant_emotion")).isEqualTo(dominant);
            long minuteAlerts = alerts.stream()
                    .filter(a -> a.get("kind").asText().equals("NEGATIVE_SPIKE_START"))
                    .filter(a -> a.get("timeMs").asLong() / 60_000 == minute.getKey())
                    .count();
            assertThat(row.getField("alerts")).isEqualTo(minuteAlerts);
            sqlAlerts += (Long) row.getField("alerts");
        }
        long starts = alerts.stream()
                .filter(a -> a.get("kind").asText().equals("NEGATIVE_SPIKE_START"))
                .count();
        assertThat(sqlAlerts).as("every alert falls in a minute with speech").isEqualTo(starts);
    }

    /** Every committed record of {@code topic} as parsed JSON (the value format under test). */
    private static List<JsonNode> readJson(EmbeddedKafkaBroker kafka, String topic) {
        ObjectMapper json = new ObjectMapper();
        return CallPipeline.readCommitted(
                kafka,
                topic,
                value -> {
                    try {
                        return json.readTree(value);
                    } catch (java.io.IOException e) {
                        throw new AssertionError("not JSON on " + topic, e);
                    }
                },
                new ArrayList<>(),
                new ArrayList<>());
    }
}
