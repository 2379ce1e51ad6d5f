package io.meritstream.cli.kafka;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Avro's own JSON encoding of records, one record per line (JSONL). Unions are written as Avro specifies ({@code
 * {"type": value}}), so {@link #readLines} reads every line back into the same record with Avro's JSON decoder.
 */
public final class AvroJson {
    private AvroJson() {}

    /** One record as a single line of JSON (no line break). */
    public static <T extends SpecificRecord> String toJson(T record) {
        Schema schema = record.getSchema();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            JsonEncoder encoder = EncoderFactory.get().jsonEncoder(schema, out, false);
            new SpecificDatumWriter<T>(schema).write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + schema.getName() + " as JSON", e);
        }
        return out.toString(StandardCharsets.UTF_8).strip();
    }

    /** One line written by {@link #toJson}. */
    public static <T extends SpecificRecord> T fromJson(String line, Class<T> type) throws IOException {
        Schema schema = SpecificData.get().getSchema(type);
        SpecificDatumReader<T> reader = new SpecificDatumReader<>(schema);
        return reader.read(null, DecoderFactory.get().jsonDecoder(schema, line));
    }

    /** Every non-blank line of a JSONL file, or an empty list when the file does not exist. */
    public static <T extends SpecificRecord> List<T> readLines(Path file, Class<T> type) throws IOException {
        List<T> records = new ArrayList<>();
        if (!Files.exists(file)) {
            return records;
        }
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    records.add(fromJson(line, type));
                } catch (IOException | RuntimeException e) {
                    throw new IOException(
                            file + ":" + number + ": not a " + type.getSimpleName() + ": " + e.getMessage(), e);
                }
            }
        }
        return records;
    }
}
