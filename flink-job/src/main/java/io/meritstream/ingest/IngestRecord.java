package io.meritstream.ingest;

/**
 * One Kafka record of the input topic as it arrived: the value's bytes undecoded, and where it came from. The source
 * emits these and nothing else, so every record — good or bad — takes the same path into {@link FrameDecoder}, which
 * decodes it once and either passes a frame on or turns it into a dead letter with the exact original bytes. Keeping
 * Avro types out of the stream also keeps Flink's serializers to plain POJOs. A Flink POJO.
 */
public class IngestRecord {
    public String topic;
    public int partition;
    public long offset;
    /** The record's key, or null. */
    public byte[] key;
    /** The record's value, or null for a tombstone. */
    public byte[] value;
    /** Kafka's record timestamp, epoch ms. */
    public long kafkaTimestampMs;
    /** Wall-clock time the source read the record, epoch ms; the start of end-to-end latency. */
    public long arrivalMs;

    public IngestRecord() {}

    public IngestRecord(
            String topic, int partition, long offset, byte[] key, byte[] value, long kafkaTimestampMs, long arrivalMs) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.key = key;
        this.value = value;
        this.kafkaTimestampMs = kafkaTimestampMs;
        this.arrivalMs = arrivalMs;
    }

    @Override
    public String toString() {
        return "IngestRecord{" + topic + "-" + partition + "@" + offset + " value="
                + (value == null ? "null" : value.length + " bytes") + "}";
    }
}
