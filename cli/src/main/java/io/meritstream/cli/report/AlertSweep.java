package io.meritstream.cli.report;

import io.meritstream.analytics.AnalyticsConfig;
import io.meritstream.analytics.AnalyticsOptions;
import io.meritstream.analytics.SpikeDetector;
import io.meritstream.analytics.TrendAndSpikeStep;
import io.meritstream.analytics.TrendTracker;
import io.meritstream.avro.AlertKind;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.ingest.StreamKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;

/**
 * Replays collected emotion events through the job's own alert rule ({@link TrendAndSpikeStep}) under other settings,
 * and scores each setting on the calls' ground truth: how many scripted negative spans an alert caught, how soon after
 * their start, and how many alerts started outside every negative span.
 *
 * <p>The events carry everything the rule reads (class probabilities, the speech decision, the window's extent), so
 * the alerts of the setting the job ran with come out exactly as the job raised them: a test checks that.
 */
public final class AlertSweep {
    private AlertSweep() {}

    /** One candidate: the trend's half-life and the spike rule's enter threshold, K and G. */
    public record Setting(Duration halfLife, double enterThreshold, int hops, int maxGapHops) {
        /** The job's analytics configuration with this setting, every other option at its default. */
        public AnalyticsConfig config() {
            Configuration conf = new Configuration();
            conf.set(AnalyticsOptions.TREND_HALF_LIFE, halfLife);
            conf.set(AnalyticsOptions.ALERT_ENTER_THRESHOLD, enterThreshold);
            conf.set(AnalyticsOptions.ALERT_CONSECUTIVE_HOPS, hops);
            conf.set(AnalyticsOptions.ALERT_MAX_GAP_HOPS, maxGapHops);
            return AnalyticsConfig.fromConfiguration(conf);
        }

        public String describe() {
            return String.format(
                    java.util.Locale.ROOT,
                    "half-life %.1f s, enter %.2f, K %d, G %d",
                    halfLife.toMillis() / 1000.0,
                    enterThreshold,
                    hops,
                    maxGapHops);
        }
    }

    /**
     * The score of one setting.
     *
     * @param spans scripted negative spans of the calls
     * @param delaysS for each caught span, the time from its start to the alert's trigger window end
     * @param falseAlerts spike starts outside every negative span of their channel
     * @param alertsByChannel spike start times (s) per stream key, for inspection
     */
    public record Score(
            Setting setting,
            int spans,
            List<Double> delaysS,
            List<ReportGenerator.FalseAlert> falseAlerts,
            Map<String, List<Double>> alertsByChannel) {
        public Double medianDelayS() {
            return CallEvaluation.median(delaysS);
        }
    }

    /**
     * Scores {@code setting} on {@code events} (any order; every call's and channel's) against {@code truths} (by
     * session id; sessions without one count no spans, and each of their alerts is a false one).
     *
     * @param hopSeconds the windowing hop the job ran with
     */
    public static Score score(
            List<EmotionEvent> events, Map<String, GroundTruth> truths, Setting setting, double hopSeconds) {
        AnalyticsConfig config = setting.config();
        Map<String, List<EmotionEvent>> byStream = new TreeMap<>();
        for (EmotionEvent e : events) {
            byStream.computeIfAbsent(StreamKey.of(e.getSessionId(), e.getChannel()), k -> new ArrayList<>())
                    .add(e);
        }
        int spans = 0;
        List<Double> delays = new ArrayList<>();
        List<ReportGenerator.FalseAlert> falseAlerts = new ArrayList<>();
        Map<String, List<Double>> alerts = new TreeMap<>();
        for (Map.Entry<String, List<EmotionEvent>> stream : byStream.entrySet()) {
            List<EmotionEvent> channelEvents = new ArrayList<>(stream.getValue());
            channelEvents.sort(Comparator.comparingLong(EmotionEvent::getWindowIndex));
            String session = channelEvents.get(0).getSessionId();
            String channel = channelEvents.get(0).getChannel();
            List<Double> starts = spikeStarts(channelEvents, config, hopSeconds);
            alerts.put(stream.getKey(), starts);
            GroundTruth truth = truths.get(session);
            List<GroundTruth.Span> channelSpans = truth == null ? List.of() : truth.spans(channel);
            for (GroundTruth.Span span : channelSpans) {
                if (span.negative()) {
                    spans++;
                    Double at = ReportGenerator.firstAlertIn(starts, span);
                    if (at != null) {
                        delays.add(at - span.startS());
                    }
                }
            }
            for (double t : starts) {
                if (ReportGenerator.outsideNegativeSpans(t, channelSpans)) {
                    falseAlerts.add(new ReportGenerator.FalseAlert(session, channel, t));
                }
            }
        }
        return new Score(setting, spans, delays, falseAlerts, alerts);
    }

    /** The spike starts (s) of one channel's events, in window order, under {@code config}. */
    static List<Double> spikeStarts(List<EmotionEvent> windowOrder, AnalyticsConfig config, double hopSeconds) {
        TrendTracker trend = new TrendTracker();
        SpikeDetector spikes = new SpikeDetector();
        List<Double> starts = new ArrayList<>();
        long lastEnd = 0;
        for (EmotionEvent e : windowOrder) {
            // The part of the timeline this window accounts for, as the job computes it: its audio after the last one.
            long owned = TrendTracker.ownedSamples(e.getWindowStartSample(), e.getWindowEndSample(), lastEnd);
            lastEnd = Math.max(lastEnd, e.getWindowEndSample());
            TrendAndSpikeStep.Outcome hop = TrendAndSpikeStep.replay(trend, spikes, e, owned, hopSeconds, config);
            if (hop.decision() != null && hop.decision().kind() == AlertKind.NEGATIVE_SPIKE_START) {
                starts.add(e.getWindowEndMs() / 1000.0);
            }
        }
        return starts;
    }
}
