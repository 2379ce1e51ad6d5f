package io.meritstream.job;

import io.meritstream.ingest.FrameDecoder;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Limits of decoding and validation. Read and validated by {@link IngestSettings#fromConfiguration}; a bad value fails
 * the job at start-up with a message naming the option and what is allowed.
 */
public final class IngestOptions {
    private IngestOptions() {}

    public static final ConfigOption<Long> MAX_FRAME_MS = ConfigOptions.key("ingest.max-frame-ms")
            .longType()
            .defaultValue(1_000L)
            .withDescription("Longest accepted input frame, in milliseconds of audio; a longer frame goes to the"
                    + " dead-letter topic as FRAME_TOO_LONG. Bounds the memory one record can take. Allowed: 1 to"
                    + " 60000.");

    public static final ConfigOption<Integer> MAX_ID_BYTES = ConfigOptions.key("ingest.max-id-bytes")
            .intType()
            .defaultValue(FrameDecoder.DEFAULT_MAX_ID_BYTES)
            .withDescription("Longest accepted sessionId, channel and record key, in UTF-8 bytes; a longer one goes to"
                    + " the dead-letter topic as ID_TOO_LONG. Every output record carries the ids, so a multi-MB id"
                    + " would make every output exceed the broker's maximum and fail the sinks in a loop. Allowed: 16"
                    + " to 65536.");

    public static final ConfigOption<Integer> DLQ_MAX_ORIGINAL_BYTES = ConfigOptions.key("dlq.max-original-bytes")
            .intType()
            .defaultValue(256 * 1024)
            .withDescription("How many bytes of a rejected record's value its dead letter keeps (originalSize still"
                    + " tells the full size). Keep it below the dead-letter topic's max.message.bytes. Allowed: 0 to"
                    + " 16777216.");

    public static final ConfigOption<Duration> RESAMPLER_IDLE_FLUSH = ConfigOptions.key("ingest.resampler.idle-flush")
            .durationType()
            .defaultValue(Duration.ofSeconds(2))
            .withDescription("A stream not at 16 kHz holds its newest frame until the next one brings the resampler's"
                    + " look-ahead; when no frame follows for this long (processing time) the frame is flushed with"
                    + " silence as look-ahead. Keep it well below 'windowing.idle-timeout'. Allowed: 10 ms to 10 min.");
}
