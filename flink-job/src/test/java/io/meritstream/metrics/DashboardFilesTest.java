package io.meritstream.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The Grafana files in {@code dashboards/grafana} are loaded by Grafana only at run time, which the build has none
 * of: here they must parse, every panel must query the datasource that the provisioning file creates (by uid), and
 * panel ids must be unique per dashboard (Grafana drops duplicates). Which metrics they query is checked against the
 * running job by {@link ExportedMetricsITCase}.
 */
class DashboardFilesTest {
    private static final Path GRAFANA = Path.of("..", "dashboards", "grafana");

    @Test
    @SuppressWarnings("unchecked")
    void dashboardsQueryTheProvisionedDatasource() throws IOException {
        Load yaml = new Load(LoadSettings.builder().build());
        Map<String, Object> datasources = (Map<String, Object>)
                yaml.loadFromString(Files.readString(GRAFANA.resolve("provisioning/datasources/prometheus.yml")));
        List<Map<String, Object>> list = (List<Map<String, Object>>) datasources.get("datasources");
        assertThat(list).hasSize(1);
        assertThat(list.get(0)).containsEntry("type", "prometheus").containsKey("url");
        String uid = (String) list.get(0).get("uid");

        Map<String, Object> providers = (Map<String, Object>)
                yaml.loadFromString(Files.readString(GRAFANA.resolve("provisioning/dashboards/merit-stream.yml")));
        Map<String, Object> provider = ((List<Map<String, Object>>) providers.get("providers")).get(0);
        assertThat(provider).containsEntry("type", "file");
        assertThat((Map<String, Object>) provider.get("options")).containsKey("path");

        ObjectMapper json = new ObjectMapper();
        List<Path> files;
        try (Stream<Path> s = Files.list(GRAFANA.resolve("dashboards"))) {
            files = s.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
        assertThat(files)
                .extracting(f -> f.getFileName().toString())
                .containsExactly("merit-operations.json", "merit-supervisor.json");
        Set<String> dashboardUids = new HashSet<>();
        for (Path file : files) {
            JsonNode dashboard = json.readTree(file.toFile());
            assertThat(dashboardUids.add(dashboard.path("uid").asText()))
                    .as("%s: unique uid", file)
                    .isTrue();
            assertThat(dashboard.path("title").asText()).as(file.toString()).isNotBlank();
            Set<Integer> ids = new HashSet<>();
            int queries = 0;
            for (JsonNode panel : dashboard.path("panels")) {
                String title = file.getFileName() + " / " + panel.path("title").asText();
                assertThat(ids.add(panel.path("id").asInt()))
                        .as("%s: unique id", title)
                        .isTrue();
                assertThat(panel.path("gridPos").path("w").asInt()).as(title).isBetween(1, 24);
                if (panel.path("type").asText().equals("text")) {
                    continue;
                }
                assertThat(panel.path("datasource").path("uid").asText())
                        .as(title)
                        .isEqualTo(uid);
                assertThat(panel.path("targets").size())
                        .as("%s: queries", title)
                        .isPositive();
                for (JsonNode target : panel.path("targets")) {
                    assertThat(target.path("datasource").path("uid").asText())
                            .as(title)
                            .isEqualTo(uid);
                    assertThat(target.path("expr").asText()).as(title).contains("flink_");
                    queries++;
                }
            }
            assertThat(queries).as(file.toString()).isGreaterThan(5);
            for (JsonNode variable : dashboard.path("templating").path("list")) {
                assertThat(variable.path("datasource").path("uid").asText()).isEqualTo(uid);
            }
        }
    }
}
