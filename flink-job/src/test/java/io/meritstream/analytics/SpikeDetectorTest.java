package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.AlertKind;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class SpikeDetectorTest {
    private static final float HIGH = 0.8f; // above the default enter threshold 0.5
    private static final float MIDDLE = 0.45f; // between exit 0.4 and enter 0.5

    @Test
    void byDefaultOneDipRestartsTheCount() {
        AnalyticsConfig config = AnalyticsConfig.defaults();
        // K = 3 in a row: two above, a dip, then three more: the start comes on the third after the dip.
        assertThat(startHop(config, HIGH, HIGH, MIDDLE, HIGH, HIGH, HIGH)).isEqualTo(5);
    }

    @Test
    void aGapOfGHopsKeepsTheRunAndOneMoreBreaksIt() {
        AnalyticsConfig config = withGap(1);
        // One dip: the run survives, the third hop above starts the spike (the 4th hop of the channel).
        SpikeDetector detector = new SpikeDetector();
        float[] scores = {HIGH, HIGH, MIDDLE, HIGH};
        SpikeDetector.Decision last = null;
        for (int i = 0; i < scores.length; i++) {
            last = detector.onHop(true, scores[i], 1000L * (i + 1), config);
        }
        assertThat(last).isEqualTo(new SpikeDetector.Decision(AlertKind.NEGATIVE_SPIKE_START, 3));
        assertThat(detector.runStartMs)
                .as("the run started at the first hop above")
                .isEqualTo(1000);
        // Two dips in a row break it: three more above are needed.
        assertThat(startHop(config, HIGH, HIGH, MIDDLE, MIDDLE, HIGH, HIGH, HIGH))
                .isEqualTo(6);
        // Non-speech hops between are transparent, as without gaps.
        SpikeDetector quiet = new SpikeDetector();
        quiet.onHop(true, HIGH, 1000, config);
        quiet.onHop(false, 0f, 2000, config);
        quiet.onHop(true, MIDDLE, 3000, config);
        quiet.onHop(false, 0f, 4000, config);
        quiet.onHop(true, HIGH, 5000, config);
        assertThat(quiet.onHop(true, HIGH, 6000, config))
                .isEqualTo(new SpikeDetector.Decision(AlertKind.NEGATIVE_SPIKE_START, 3));
    }

    /** Index (from 0) of the hop at which the spike starts, or -1. */
    private static int startHop(AnalyticsConfig config, float... scores) {
        SpikeDetector detector = new SpikeDetector();
        for (int i = 0; i < scores.length; i++) {
            SpikeDetector.Decision d = detector.onHop(true, scores[i], 1000L * (i + 1), config);
            if (d != null && d.kind() == AlertKind.NEGATIVE_SPIKE_START) {
                return i;
            }
        }
        return -1;
    }

    private static AnalyticsConfig withGap(int gap) {
        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.ALERT_MAX_GAP_HOPS, gap);
        return AnalyticsConfig.fromConfiguration(conf);
    }
}
