package io.meritstream.session;

import io.meritstream.ingest.DecodedFrame;
import java.io.Serializable;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Settings of the per-channel {@link SessionWindower}, validated when built: a bad value fails at job start-up with a
 * message naming the option, never later on data.
 *
 * <p>Windows are measured in samples of the 16 kHz timeline; the {@link Duration} setters convert and reject durations
 * that are not a whole number of samples.
 */
public final class WindowingConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final ConfigOption<Duration> WINDOW = ConfigOptions.key("windowing.window")
            .durationType()
            .defaultValue(Duration.ofSeconds(3))
            .withDescription("Length of the audio window the model sees.");
    public static final ConfigOption<Duration> HOP = ConfigOptions.key("windowing.hop")
            .durationType()
            .defaultValue(Duration.ofSeconds(1))
            .withDescription("Distance between the starts of consecutive windows; at most the window length.");
    public static final ConfigOption<Boolean> EARLY_FIRST_WINDOW = ConfigOptions.key("windowing.early-first-window")
            .booleanType()
            .defaultValue(true)
            .withDescription("Emit windows from the first hop of audio on, left-padded with zeros (flag PADDED_START),"
                    + " so that the first result comes after one hop instead of one window.");
    public static final ConfigOption<Integer> REORDER_MAX_FRAMES = ConfigOptions.key("windowing.reorder.max-frames")
            .intType()
            .defaultValue(50)
            .withDescription("Out-of-order frames held per channel while waiting for a missing one; when more"
                    + " arrive, the missing frames are filled with silence (flag GAP_FILLED). 0 disables reordering.");
    public static final ConfigOption<Duration> MAX_GAP_FILL = ConfigOptions.key("windowing.max-gap-fill")
            .durationType()
            .defaultValue(Duration.ofSeconds(10))
            .withDescription("Most silence put in for one run of missing frames. A longer run (a producer restarting"
                    + " its seq, say) is counted in full but shortened to this, so that it cannot flood inference"
                    + " with windows of silence.");
    public static final ConfigOption<Duration> REORDER_EOS_WAIT = ConfigOptions.key("windowing.reorder.eos-wait")
            .durationType()
            .defaultValue(Duration.ofSeconds(2))
            .withDescription("How long an end-of-stream frame that overtook earlier frames waits for them before the"
                    + " channel is closed with the missing frames filled with silence.");
    public static final ConfigOption<Duration> IDLE_TIMEOUT = ConfigOptions.key("windowing.idle-timeout")
            .durationType()
            .defaultValue(Duration.ofSeconds(30))
            .withDescription("Time without frames after which a channel is closed as abandoned (flag"
                    + " IDLE_TIMEOUT); later frames of it go to the dead-letter topic as AFTER_END_OF_STREAM. It is"
                    + " counted on the subtask's input progress: from a restore at the earliest, and without the time"
                    + " in which no frame of any channel arrived (see 'windowing.max-input-stall').");
    public static final ConfigOption<Duration> MAX_INPUT_STALL = ConfigOptions.key("windowing.max-input-stall")
            .durationType()
            .defaultValue(Duration.ofMinutes(5))
            .withDescription("Most time in which a subtask's whole input stalls (no frame of any channel for more than"
                    + " 1 s: back-pressure from saturated inference, a Kafka outage) that is left out of a channel's"
                    + " idle time, so that such a stall does not close and split live calls. The last call of a quiet"
                    + " subtask that ends without an end-of-stream frame closes up to this much late. 0 counts idle"
                    + " time on the wall clock.");
    public static final ConfigOption<Duration> STATE_TTL = ConfigOptions.key("windowing.state-ttl")
            .durationType()
            .defaultValue(Duration.ofHours(1))
            .withDescription("Backstop: per-channel state not written for this long is dropped even if no timer"
                    + " closed the channel. Must exceed the idle timeout plus 'windowing.max-input-stall'.");

    public static final ConfigOption<Integer> MAX_LIVE_STREAMS = ConfigOptions.key("windowing.max-live-streams")
            .intType()
            .defaultValue(1_000)
            .withDescription("Most channels one windower subtask keeps open at once (each holds a 192 KB ring and"
                    + " costs the model a window per hop). A frame that would open one more goes to the dead-letter"
                    + " topic as STREAM_LIMIT, so that a flood of new ids cannot grow state or model load without"
                    + " bound. A channel stops counting at its end-of-stream frame or when 'windowing.idle-timeout'"
                    + " closes it. Allowed: 1 to 1000000.");

    private final int windowSamples;
    private final int hopSamples;
    private final boolean earlyFirstWindow;
    private final int reorderMaxFrames;
    private final int maxGapFillSamples;
    private final long reorderEosWaitMs;
    private final long idleTimeoutMs;
    private final long stateTtlMs;
    private final int maxLiveStreams;
    private final long maxInputStallMs;

    private WindowingConfig(Builder b) {
        this.windowSamples = b.windowSamples;
        this.hopSamples = b.hopSamples;
        this.earlyFirstWindow = b.earlyFirstWindow;
        this.reorderMaxFrames = b.reorderMaxFrames;
        this.maxGapFillSamples = b.maxGapFillSamples;
        this.reorderEosWaitMs = b.reorderEosWait.toMillis();
        this.idleTimeoutMs = b.idleTimeout.toMillis();
        this.stateTtlMs = b.stateTtl.toMillis();
        this.maxLiveStreams = b.maxLiveStreams;
        this.maxInputStallMs = b.maxInputStall.toMillis();
    }

    /** Window 3 s, hop 1 s, early first window, 50 frames of reordering, idle timeout 30 s, state TTL 1 h. */
    public static WindowingConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads the {@code windowing.*} options; unset ones keep their defaults. */
    public static WindowingConfig fromConfiguration(ReadableConfig config) {
        return builder()
                .window(config.get(WINDOW))
                .hop(config.get(HOP))
                .earlyFirstWindow(config.get(EARLY_FIRST_WINDOW))
                .reorderMaxFrames(config.get(REORDER_MAX_FRAMES))
                .maxGapFill(config.get(MAX_GAP_FILL))
                .reorderEosWait(config.get(REORDER_EOS_WAIT))
                .idleTimeout(config.get(IDLE_TIMEOUT))
                .stateTtl(config.get(STATE_TTL))
                .maxLiveStreams(config.get(MAX_LIVE_STREAMS))
                .maxInputStall(config.get(MAX_INPUT_STALL))
                .build();
    }

    public int windowSamples() {
        return windowSamples;
    }

    public int hopSamples() {
        return hopSamples;
    }

    public boolean earlyFirstWindow() {
        return earlyFirstWindow;
    }

    public int reorderMaxFrames() {
        return reorderMaxFrames;
    }

    public int maxGapFillSamples() {
        return maxGapFillSamples;
    }

    public long reorderEosWaitMs() {
        return reorderEosWaitMs;
    }

    public long idleTimeoutMs() {
        return idleTimeoutMs;
    }

    public long stateTtlMs() {
        return stateTtlMs;
    }

    public int maxLiveStreams() {
        return maxLiveStreams;
    }

    public long maxInputStallMs() {
        return maxInputStallMs;
    }

    /**
     * A clock for idle and end-of-stream waits on frame input: a gap of more than 1 s between any two frames of the
     * subtask is a stall (a live channel sends a frame every 20 ms).
     */
    public InputClock newFrameInputClock() {
        return new InputClock(1_000, maxInputStallMs, Math.max(idleTimeoutMs, reorderEosWaitMs));
    }

    /**
     * Timeline position of window {@code index}'s first sample. With the early first window, window 0 ends after one hop
     * of audio, so it starts {@code window - hop} samples before the timeline's origin (that part is zeros).
     */
    public long windowStart(long index) {
        long origin = earlyFirstWindow ? (long) hopSamples - windowSamples : 0;
        return origin + index * hopSamples;
    }

    @Override
    public String toString() {
        return "WindowingConfig{windowSamples=" + windowSamples + ", hopSamples=" + hopSamples + ", earlyFirstWindow="
                + earlyFirstWindow + ", reorderMaxFrames=" + reorderMaxFrames + ", maxGapFillSamples="
                + maxGapFillSamples + ", reorderEosWaitMs="
                + reorderEosWaitMs + ", idleTimeoutMs=" + idleTimeoutMs + ", stateTtlMs=" + stateTtlMs
                + ", maxLiveStreams=" + maxLiveStreams + ", maxInputStallMs=" + maxInputStallMs + "}";
    }

    /** Collects settings; {@link #build()} validates them together. */
    public static final class Builder {
        private int windowSamples = toSamples(WINDOW, WINDOW.defaultValue());
        private int hopSamples = toSamples(HOP, HOP.defaultValue());
        private boolean earlyFirstWindow = EARLY_FIRST_WINDOW.defaultValue();
        private int reorderMaxFrames = REORDER_MAX_FRAMES.defaultValue();
        private int maxGapFillSamples = toSamples(MAX_GAP_FILL, MAX_GAP_FILL.defaultValue());
        private Duration reorderEosWait = REORDER_EOS_WAIT.defaultValue();
        private Duration idleTimeout = IDLE_TIMEOUT.defaultValue();
        private Duration stateTtl = STATE_TTL.defaultValue();
        private int maxLiveStreams = MAX_LIVE_STREAMS.defaultValue();
        private Duration maxInputStall = MAX_INPUT_STALL.defaultValue();

        private Builder() {}

        public Builder window(Duration window) {
            this.windowSamples = toSamples(WINDOW, window);
            return this;
        }

        public Builder windowSamples(int samples) {
            this.windowSamples = samples;
            return this;
        }

        public Builder hop(Duration hop) {
            this.hopSamples = toSamples(HOP, hop);
            return this;
        }

        public Builder hopSamples(int samples) {
            this.hopSamples = samples;
            return this;
        }

        public Builder earlyFirstWindow(boolean early) {
            this.earlyFirstWindow = early;
            return this;
        }

        public Builder reorderMaxFrames(int frames) {
            this.reorderMaxFrames = frames;
            return this;
        }

        public Builder maxGapFill(Duration maxFill) {
            this.maxGapFillSamples = toSamples(MAX_GAP_FILL, maxFill);
            return this;
        }

        public Builder maxGapFillSamples(int samples) {
            this.maxGapFillSamples = samples;
            return this;
        }

        public Builder reorderEosWait(Duration wait) {
            this.reorderEosWait = wait;
            return this;
        }

        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = timeout;
            return this;
        }

        public Builder stateTtl(Duration ttl) {
            this.stateTtl = ttl;
            return this;
        }

        public Builder maxLiveStreams(int streams) {
            this.maxLiveStreams = streams;
            return this;
        }

        public Builder maxInputStall(Duration stall) {
            this.maxInputStall = stall;
            return this;
        }

        public WindowingConfig build() {
            require(windowSamples > 0, WINDOW, windowSamples + " samples", "must be positive");
            require(hopSamples > 0, HOP, hopSamples + " samples", "must be positive");
            require(
                    hopSamples <= windowSamples,
                    HOP,
                    hopSamples + " samples",
                    "must not exceed " + WINDOW.key() + " (" + windowSamples + " samples): audio between windows"
                            + " would never be analysed");
            require(reorderMaxFrames >= 0, REORDER_MAX_FRAMES, reorderMaxFrames, "must be 0 or more");
            require(maxGapFillSamples > 0, MAX_GAP_FILL, maxGapFillSamples + " samples", "must be positive");
            requirePositiveMillis(REORDER_EOS_WAIT, reorderEosWait);
            requirePositiveMillis(IDLE_TIMEOUT, idleTimeout);
            requirePositiveMillis(STATE_TTL, stateTtl);
            require(
                    maxLiveStreams >= 1 && maxLiveStreams <= 1_000_000,
                    MAX_LIVE_STREAMS,
                    maxLiveStreams,
                    "must be 1 to 1000000");
            require(
                    reorderEosWait.compareTo(idleTimeout) <= 0,
                    REORDER_EOS_WAIT,
                    reorderEosWait,
                    "must not exceed " + IDLE_TIMEOUT.key() + " (" + idleTimeout + ")");
            require(maxInputStall != null, MAX_INPUT_STALL, null, "must be set");
            require(!maxInputStall.isNegative(), MAX_INPUT_STALL, maxInputStall, "must be 0 or more");
            require(
                    stateTtl.compareTo(idleTimeout.plus(maxInputStall)) > 0,
                    STATE_TTL,
                    stateTtl,
                    "must exceed " + IDLE_TIMEOUT.key() + " + " + MAX_INPUT_STALL.key() + " (" + idleTimeout + " + "
                            + maxInputStall + "), or state would expire before the idle timer closes the channel and"
                            + " its last window would be lost");
            return new WindowingConfig(this);
        }

        private static void requirePositiveMillis(ConfigOption<Duration> option, Duration value) {
            require(value != null, option, null, "must be set");
            require(value.toMillis() > 0, option, value, "must be at least 1 ms");
        }
    }

    private static int toSamples(ConfigOption<Duration> option, Duration duration) {
        require(duration != null, option, null, "must be set");
        require(!duration.isNegative() && !duration.isZero(), option, duration, "must be positive");
        long nanosTimesRate;
        try {
            nanosTimesRate = Math.multiplyExact(duration.toNanos(), (long) DecodedFrame.SAMPLE_RATE);
        } catch (ArithmeticException e) {
            throw invalid(option, duration, "is too long");
        }
        require(
                nanosTimesRate % 1_000_000_000L == 0,
                option,
                duration,
                "must be a whole number of samples at " + DecodedFrame.SAMPLE_RATE + " Hz (a multiple of 62.5 µs)");
        long samples = nanosTimesRate / 1_000_000_000L;
        require(samples <= Integer.MAX_VALUE, option, duration, "is too long");
        return (int) samples;
    }

    private static void require(boolean ok, ConfigOption<?> option, Object value, String rule) {
        if (!ok) {
            throw invalid(option, value, rule);
        }
    }

    private static IllegalArgumentException invalid(ConfigOption<?> option, Object value, String rule) {
        return new IllegalArgumentException("Invalid value for option '" + option.key() + "': " + value + " " + rule);
    }
}
