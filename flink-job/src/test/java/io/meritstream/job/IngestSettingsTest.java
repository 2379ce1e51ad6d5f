package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class IngestSettingsTest {

    @Test
    void defaults() {
        IngestSettings settings = IngestSettings.fromConfiguration(new Configuration());
        assertThat(settings.maxFrameMs()).isEqualTo(1_000);
        assertThat(settings.dlqMaxOriginalBytes()).isEqualTo(256 * 1024);
        assertThat(settings.resamplerIdleFlush()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void readsTheOptions() {
        IngestSettings settings = IngestSettings.fromConfiguration(Configuration.fromMap(Map.of(
                "ingest.max-frame-ms", "200", "dlq.max-original-bytes", "0", "ingest.resampler.idle-flush", "500 ms")));
        assertThat(settings.maxFrameMs()).isEqualTo(200);
        assertThat(settings.dlqMaxOriginalBytes()).isZero();
        assertThat(settings.resamplerIdleFlush()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void outOfRangeValuesNameTheOptionAndTheRange() {
        assertThatThrownBy(() ->
                        IngestSettings.fromConfiguration(Configuration.fromMap(Map.of("ingest.max-frame-ms", "0"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Option 'ingest.max-frame-ms' must be 1 to 60000, got 0");
        assertThatThrownBy(() ->
                        IngestSettings.fromConfiguration(Configuration.fromMap(Map.of("dlq.max-original-bytes", "-1"))))
                .hasMessage("Option 'dlq.max-original-bytes' must be 0 to 16777216, got -1");
        assertThatThrownBy(() -> IngestSettings.fromConfiguration(
                        Configuration.fromMap(Map.of("ingest.resampler.idle-flush", "1 ms"))))
                .hasMessageStartingWith("Option 'ingest.resampler.idle-flush' must be 10 ms to 10 min, got");
    }
}
