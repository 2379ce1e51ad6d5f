package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's shape from a tiny run: the fixture model, batch sizes 1 and 2, a few calls, no pipeline or PyTorch. */
class BenchRunnerTest {
    private static final Path FIXTURE = Path.of("../flink-job/src/test/resources/fixtures/sparse_merit_fixture.onnx");

    @TempDir
    Path work;

    @Test
    void tinyRunReportsRawThroughputPeakAndWhatItSkipped() throws Exception {
        BenchRunner.Options options = new BenchRunner.Options(
                FIXTURE,
                1,
                true,
                new int[] {1, 2},
                new int[] {4},
                1,
                null,
                true,
                true,
                "at-least-once",
                work,
                "cpu",
                false,
                null,
                new Timing.Budget(1, 2, 0, 2),
                new int[] {64, 128});
        StringWriter progress = new StringWriter();
        ObjectNode report = new BenchRunner(options, new PrintWriter(progress)).run();

        assertThat(report.path("model").path("name").asText()).isEqualTo("sparse_merit_fixture");
        assertThat(report.path("threads").asInt()).isEqualTo(1);
        assertThat(report.path("window_seconds").asDouble()).isEqualTo(3.0);
        assertThat(report.path("machine").path("load_average_at_start")).hasSize(3);
        assertThat(report.path("machine").path("load_average_at_end")).hasSize(3);

        JsonNode batches = report.path("raw_ort").path("batches");
        assertThat(batches).hasSize(2);
        for (int i = 0; i < 2; i++) {
            JsonNode b = batches.get(i);
            assertThat(b.path("batch").asInt()).isEqualTo(i + 1);
            assertThat(b.path("calls").asInt()).isEqualTo(2);
            assertThat(b.path("wall_ms").asDouble()).isPositive();
            // audio per wall second is window seconds x batch / wall time, rounded to 0.1
            double expected = 3.0 * (i + 1) / (b.path("wall_ms").asDouble() / 1000);
            assertThat(b.path("audio_seconds_per_wall_second").asDouble())
                    .isCloseTo(expected, org.assertj.core.data.Offset.offset(0.05 + expected * 0.001));
        }
        // The fixture has experts, so the gates' agreement on the bench audio is a fraction.
        assertThat(report.path("raw_ort").path("gate_agreement").asDouble()).isBetween(0.0, 1.0);

        JsonNode sizes = report.path("sgemm").path("sizes");
        assertThat(sizes).hasSize(2);
        assertThat(sizes.get(0).path("n").asInt()).isEqualTo(64);
        assertThat(report.path("sgemm").path("peak_gflops").asDouble()).isPositive();

        // Skipped parts are null with a note saying why, never made up.
        for (String field : new String[] {
            "pipeline_vs_raw", "max_streams_realtime", "sparse_vs_dense", "ort_vs_torch", "percent_of_sgemm_peak"
        }) {
            assertThat(report.has(field)).as(field).isTrue();
            assertThat(report.get(field).isNull()).as(field).isTrue();
        }
        assertThat(report.path("notes").toString()).contains("--skip-python").contains("--skip-pipeline");
        assertThat(progress.toString()).contains("raw ONNX Runtime");

        String table = BenchCommand.table(report);
        assertThat(table).contains("sparse_merit_fixture").contains("pipeline_vs_raw          n/a");
        assertThat(table.lines().filter(l -> l.matches("\\s+[12] .*"))).hasSize(2);
    }
}
