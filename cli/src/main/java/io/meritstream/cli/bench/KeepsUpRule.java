package io.meritstream.cli.bench;

/**
 * When the pipeline keeps up with N real-time channels. Over the measurement interval (after a warm-up):
 *
 * <ol>
 *   <li>the emotion events arrive at least at {@code minRateRatio} (0.95) of the rate the channels produce windows,
 *       {@code N / hop}: a pipeline that falls behind builds a backlog, and its output rate drops below the input rate;
 *   <li>the p99 frame-to-event latency is at most {@code hop + latencySlackMs} (500 ms). Frame-to-event latency is
 *       measured from the send of the <em>first</em> frame whose audio is new in a window, so it includes the up to one
 *       hop that frame waits for its window to close; the slack is what decoding, windowing, inference, analytics and
 *       both Kafka hops may add on top;
 *   <li>no window failed in inference (a failed window is an event without emotions: not keeping up, just hiding it).
 * </ol>
 */
public record KeepsUpRule(double minRateRatio, long latencySlackMs) {
    public static final KeepsUpRule DEFAULT = new KeepsUpRule(0.95, 500);

    public KeepsUpRule {
        if (!(minRateRatio > 0 && minRateRatio <= 1)) {
            throw new IllegalArgumentException("minRateRatio must be in (0, 1], got " + minRateRatio);
        }
        if (latencySlackMs < 0) {
            throw new IllegalArgumentException("latencySlackMs must be >= 0, got " + latencySlackMs);
        }
    }

    /** The outcome, with the first reason it failed (null when it keeps up). */
    public record Verdict(boolean keepsUp, String reason) {}

    /**
     * @param inputWindowsPerSecond windows the channels produce per second ({@code N / hop})
     * @param outputEventsPerSecond events that arrived per second over the measurement interval
     * @param p99LatencyMs p99 frame-to-event latency (NaN when no event arrived)
     * @param hopMs the windowing hop
     * @param failedWindows events of windows that failed in inference
     */
    public Verdict judge(
            double inputWindowsPerSecond,
            double outputEventsPerSecond,
            double p99LatencyMs,
            long hopMs,
            long failedWindows) {
        double ratio = inputWindowsPerSecond <= 0 ? Double.NaN : outputEventsPerSecond / inputWindowsPerSecond;
        if (!(ratio >= minRateRatio)) {
            return new Verdict(
                    false,
                    String.format(
                            "output %.2f events/s is %.2f of the input %.2f windows/s (needs >= %.2f)",
                            outputEventsPerSecond, ratio, inputWindowsPerSecond, minRateRatio));
        }
        long limit = hopMs + latencySlackMs;
        if (!(p99LatencyMs <= limit)) {
            return new Verdict(
                    false,
                    String.format(
                            "p99 frame-to-event latency %.0f ms > hop + %d ms = %d ms",
                            p99LatencyMs, latencySlackMs, limit));
        }
        if (failedWindows > 0) {
            return new Verdict(false, failedWindows + " windows failed in inference");
        }
        return new Verdict(true, null);
    }
}
