package io.meritstream.job;

/** How the job writes the values of its output records ({@link KafkaOptions#VALUE_FORMAT}). */
public enum ValueFormat {
    /** Avro single-object encoding: fingerprint of the writer schema, then the Avro binary body (the default). */
    AVRO("avro"),
    /** One JSON object per record, with the Avro field names ({@link io.meritstream.schemas.RecordJson}). */
    JSON("json");

    private final String option;

    ValueFormat(String option) {
        this.option = option;
    }

    /** The option's spelling; Flink matches enum options case-insensitively against it. */
    @Override
    public String toString() {
        return option;
    }
}
