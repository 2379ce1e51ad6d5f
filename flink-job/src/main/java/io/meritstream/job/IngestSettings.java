package io.meritstream.job;

import java.io.Serializable;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/** The validated {@link IngestOptions}. Immutable and serializable. */
public final class IngestSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    private final long maxFrameMs;
    private final int dlqMaxOriginalBytes;
    private final Duration resamplerIdleFlush;
    private final int maxIdBytes;

    /** With the default {@code ingest.max-id-bytes}. */
    public IngestSettings(long maxFrameMs, int dlqMaxOriginalBytes, Duration resamplerIdleFlush) {
        this(maxFrameMs, dlqMaxOriginalBytes, resamplerIdleFlush, IngestOptions.MAX_ID_BYTES.defaultValue());
    }

    public IngestSettings(long maxFrameMs, int dlqMaxOriginalBytes, Duration resamplerIdleFlush, int maxIdBytes) {
        require(maxIdBytes >= 16 && maxIdBytes <= 65_536, IngestOptions.MAX_ID_BYTES, maxIdBytes, "16 to 65536");
        require(maxFrameMs >= 1 && maxFrameMs <= 60_000, IngestOptions.MAX_FRAME_MS, maxFrameMs, "1 to 60000");
        require(
                dlqMaxOriginalBytes >= 0 && dlqMaxOriginalBytes <= 16 * 1024 * 1024,
                IngestOptions.DLQ_MAX_ORIGINAL_BYTES,
                dlqMaxOriginalBytes,
                "0 to 16777216");
        require(
                resamplerIdleFlush.compareTo(Duration.ofMillis(10)) >= 0
                        && resamplerIdleFlush.compareTo(Duration.ofMinutes(10)) <= 0,
                IngestOptions.RESAMPLER_IDLE_FLUSH,
                resamplerIdleFlush,
                "10 ms to 10 min");
        this.maxFrameMs = maxFrameMs;
        this.dlqMaxOriginalBytes = dlqMaxOriginalBytes;
        this.resamplerIdleFlush = resamplerIdleFlush;
        this.maxIdBytes = maxIdBytes;
    }

    /** The defaults of {@link IngestOptions}. */
    public static IngestSettings defaults() {
        return new IngestSettings(
                IngestOptions.MAX_FRAME_MS.defaultValue(),
                IngestOptions.DLQ_MAX_ORIGINAL_BYTES.defaultValue(),
                IngestOptions.RESAMPLER_IDLE_FLUSH.defaultValue());
    }

    /**
     * Reads and validates the ingest options.
     *
     * @throws IllegalArgumentException naming the offending option, its value and what is allowed
     */
    public static IngestSettings fromConfiguration(ReadableConfig conf) {
        return new IngestSettings(
                conf.get(IngestOptions.MAX_FRAME_MS),
                conf.get(IngestOptions.DLQ_MAX_ORIGINAL_BYTES),
                conf.get(IngestOptions.RESAMPLER_IDLE_FLUSH),
                conf.get(IngestOptions.MAX_ID_BYTES));
    }

    public long maxFrameMs() {
        return maxFrameMs;
    }

    public int dlqMaxOriginalBytes() {
        return dlqMaxOriginalBytes;
    }

    public Duration resamplerIdleFlush() {
        return resamplerIdleFlush;
    }

    public int maxIdBytes() {
        return maxIdBytes;
    }

    private static void require(boolean ok, ConfigOption<?> option, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException("Option '" + option.key() + "' must be " + allowed + ", got " + value);
        }
    }

    @Override
    public String toString() {
        return "IngestSettings{maxFrameMs=" + maxFrameMs + ", dlqMaxOriginalBytes=" + dlqMaxOriginalBytes
                + ", resamplerIdleFlush=" + resamplerIdleFlush + ", maxIdBytes=" + maxIdBytes + "}";
    }
}
