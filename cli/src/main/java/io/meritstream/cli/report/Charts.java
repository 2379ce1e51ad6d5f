package io.meritstream.cli.report;

import io.meritstream.avro.AlertKind;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.TrendKind;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYDataImageAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The report's charts, drawn with JFreeChart and saved as PNG. */
public final class Charts {
    private Charts() {}

    static final Color ANGRY = new Color(0xD62728);
    static final Color SAD = new Color(0x1F77B4);
    static final Color HAPPY = new Color(0xE0A100);
    static final Color NEUTRAL = new Color(0x7F7F7F);
    private static final Font LABEL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);

    static Color emotionColor(String emotion) {
        return switch (emotion.toLowerCase()) {
            case "angry" -> ANGRY;
            case "sad" -> SAD;
            case "happy" -> HAPPY;
            default -> NEUTRAL;
        };
    }

    /** One channel's trend for {@link #trendChart}. */
    public record ChannelTrend(
            String channel, List<EmotionTrend> trends, List<EmotionAlert> alerts, List<GroundTruth.Span> truth) {}

    /**
     * The smoothed emotion probabilities and negativity of each channel over time (one panel per channel, shared time
     * axis), with alerts as vertical lines and the scripted ground truth as shaded spans.
     */
    public static JFreeChart trendChart(String title, List<ChannelTrend> channels, double durationS) {
        NumberAxis time = new NumberAxis("time (s)");
        time.setAutoRangeIncludesZero(true);
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(time);
        combined.setGap(12);
        for (ChannelTrend channel : channels) {
            XYPlot plot = trendPlot(channel);
            combined.add(plot, 1);
            if (combined.getFixedLegendItems() == null) {
                // Every panel has the same series; one legend is enough.
                combined.setFixedLegendItems(plot.getLegendItems());
            }
        }
        if (durationS > 0) {
            time.setRange(0, durationS);
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 15), combined, true);
        chart.addSubtitle(new TextTitle(
                "smoothed probabilities (thin) and negativity (thick black); shaded: scripted emotion; red lines:"
                        + " negative-spike alerts",
                LABEL_FONT));
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static XYPlot trendPlot(ChannelTrend channel) {
        XYSeries angry = new XYSeries("angry");
        XYSeries sad = new XYSeries("sad");
        XYSeries happy = new XYSeries("happy");
        XYSeries neutral = new XYSeries("neutral");
        XYSeries negativity = new XYSeries("negativity");
        for (EmotionTrend trend : channel.trends()) {
            if (trend.getKind() != TrendKind.UPDATE) {
                continue;
            }
            double t = trend.getTimeMs() / 1000.0;
            angry.add(t, trend.getSmoothed().getAngry());
            sad.add(t, trend.getSmoothed().getSad());
            happy.add(t, trend.getSmoothed().getHappy());
            neutral.add(t, trend.getSmoothed().getNeutral());
            negativity.add(t, trend.getNegativity());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        for (XYSeries series : List.of(angry, sad, happy, neutral, negativity)) {
            data.addSeries(series);
        }
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        Color[] colors = {ANGRY, SAD, HAPPY, NEUTRAL, Color.BLACK};
        for (int i = 0; i < colors.length; i++) {
            renderer.setSeriesPaint(i, colors[i]);
            renderer.setSeriesStroke(i, new BasicStroke(i == 4 ? 2.8f : 1.3f));
        }
        NumberAxis range = new NumberAxis(channel.channel());
        range.setRange(0, 1.05);
        XYPlot plot = new XYPlot(data, null, range, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        for (GroundTruth.Span span : channel.truth()) {
            IntervalMarker marker = new IntervalMarker(span.startS(), span.endS());
            Color color = emotionColor(span.emotion());
            // Transparency in the colour rather than the marker's alpha, which would fade the label too.
            marker.setPaint(new Color(color.getRed(), color.getGreen(), color.getBlue(), span.negative() ? 60 : 30));
            marker.setAlpha(1f);
            marker.setLabel(span.emotion());
            marker.setLabelFont(LABEL_FONT);
            marker.setLabelPaint(color.darker());
            marker.setLabelAnchor(RectangleAnchor.TOP_LEFT);
            marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            marker.setLabelOffset(new RectangleInsets(2, 3, 2, 2));
            plot.addDomainMarker(marker, Layer.BACKGROUND);
        }
        boolean thresholdsDrawn = false;
        for (EmotionAlert alert : channel.alerts()) {
            boolean start = alert.getKind() == AlertKind.NEGATIVE_SPIKE_START;
            ValueMarker marker = new ValueMarker(alert.getTimeMs() / 1000.0);
            marker.setPaint(start ? ANGRY.darker() : new Color(0x555555));
            marker.setStroke(
                    start
                            ? new BasicStroke(2.2f)
                            : new BasicStroke(
                                    1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {5f, 4f}, 0f));
            marker.setLabel(start ? "alert" : "end");
            marker.setLabelFont(LABEL_FONT);
            marker.setLabelPaint(marker.getPaint());
            marker.setLabelAnchor(RectangleAnchor.BOTTOM_RIGHT);
            marker.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
            plot.addDomainMarker(marker, Layer.FOREGROUND);
            if (!thresholdsDrawn) {
                plot.addRangeMarker(threshold(alert.getEnterThreshold(), "enter"), Layer.BACKGROUND);
                plot.addRangeMarker(threshold(alert.getExitThreshold(), "exit"), Layer.BACKGROUND);
                thresholdsDrawn = true;
            }
        }
        return plot;
    }

    private static ValueMarker threshold(double value, String label) {
        ValueMarker marker = new ValueMarker(value);
        marker.setPaint(new Color(0x999999));
        marker.setStroke(
                new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {2f, 3f}, 0f));
        marker.setLabel(label);
        marker.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 9));
        marker.setLabelAnchor(RectangleAnchor.RIGHT);
        marker.setLabelTextAnchor(TextAnchor.BOTTOM_RIGHT);
        return marker;
    }

    /** Noisy above enhanced, same time axis and colour scale. Either spectrogram may be null (missing audio). */
    public static JFreeChart spectrogramChart(String title, Spectrogram noisy, Spectrogram enhanced) {
        float top = Math.max(noisy == null ? -200 : noisy.maxDb(), enhanced == null ? -200 : enhanced.maxDb());
        DbScale scale = new DbScale(top - 80, top);
        NumberAxis time = new NumberAxis("time (s)");
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(time);
        combined.setGap(10);
        double duration = 0;
        for (Map.Entry<String, Spectrogram> part : partMap(noisy, enhanced).entrySet()) {
            Spectrogram s = part.getValue();
            double seconds = s.frames() * s.frameSeconds();
            duration = Math.max(duration, seconds);
            NumberAxis frequency = new NumberAxis(part.getKey() + " (kHz)");
            frequency.setRange(0, s.nyquistHz() / 1000);
            XYPlot plot = new XYPlot(new XYSeriesCollection(), null, frequency, new XYLineAndShapeRenderer());
            plot.setBackgroundPaint(Color.BLACK);
            plot.setDomainGridlinesVisible(false);
            plot.setRangeGridlinesVisible(false);
            plot.addAnnotation(new XYDataImageAnnotation(image(s, scale), 0, 0, seconds, s.nyquistHz() / 1000, true));
            combined.add(plot, 1);
        }
        time.setRange(0, Math.max(duration, 1e-3));
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 15), combined, false);
        NumberAxis dbAxis = new NumberAxis("dB");
        dbAxis.setRange(scale.getLowerBound(), scale.getUpperBound());
        PaintScaleLegend legend = new PaintScaleLegend(scale, dbAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(new RectangleInsets(30, 6, 50, 6));
        legend.setStripWidth(12);
        chart.addSubtitle(legend);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static Map<String, Spectrogram> partMap(Spectrogram noisy, Spectrogram enhanced) {
        Map<String, Spectrogram> parts = new LinkedHashMap<>();
        if (noisy != null) {
            parts.put("noisy", noisy);
        }
        if (enhanced != null) {
            parts.put("enhanced", enhanced);
        }
        return parts;
    }

    /** The spectrogram as an image: one column per frame, the highest frequency in the top row. */
    static BufferedImage image(Spectrogram s, DbScale scale) {
        BufferedImage image = new BufferedImage(Math.max(1, s.frames()), s.bins(), BufferedImage.TYPE_INT_RGB);
        float[][] db = s.db();
        for (int x = 0; x < s.frames(); x++) {
            for (int k = 0; k < s.bins(); k++) {
                image.setRGB(x, s.bins() - 1 - k, scale.rgb(db[x][k]));
            }
        }
        return image;
    }

    public static void savePng(JFreeChart chart, Path file, int width, int height) throws IOException {
        // ImageIO's default file cache registers a JVM shutdown hook per stream, which fails while the demo writes its
        // report during a Ctrl-C shutdown; charts are small, so encode in memory.
        ImageIO.setUseCache(false);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, width, height);
    }

    /** The viridis colour map over a dB range. */
    static final class DbScale implements PaintScale {
        private static final int[][] ANCHORS = {
            {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}
        };
        private final double lower;
        private final double upper;

        DbScale(double lower, double upper) {
            this.lower = lower;
            this.upper = upper > lower ? upper : lower + 1;
        }

        @Override
        public double getLowerBound() {
            return lower;
        }

        @Override
        public double getUpperBound() {
            return upper;
        }

        @Override
        public Paint getPaint(double value) {
            return new Color(rgb(value));
        }

        int rgb(double value) {
            double f = Math.max(0, Math.min(1, (value - lower) / (upper - lower))) * (ANCHORS.length - 1);
            int i = Math.min((int) f, ANCHORS.length - 2);
            double t = f - i;
            int r = (int) Math.round(ANCHORS[i][0] + t * (ANCHORS[i + 1][0] - ANCHORS[i][0]));
            int g = (int) Math.round(ANCHORS[i][1] + t * (ANCHORS[i + 1][1] - ANCHORS[i][1]));
            int b = (int) Math.round(ANCHORS[i][2] + t * (ANCHORS[i + 1][2] - ANCHORS[i][2]));
            return (r << 16) | (g << 8) | b;
        }
    }
}
