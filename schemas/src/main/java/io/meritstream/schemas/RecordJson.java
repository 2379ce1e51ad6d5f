package io.meritstream.schemas;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.Collection;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;

/**
 * The JSON value format ({@code kafka.value-format: json}): a record as the plain JSON object that SQL engines, Kafka
 * Connect's JSON converter, ksqlDB and jq read without Avro. Field names are the Avro field names; the mapping:
 *
 * <ul>
 *   <li>record: an object with every field (nested records, e.g. the probabilities, are objects);
 *   <li>enum: its symbol as a string; string: a string; boolean, int, long: as such;
 *   <li>float, double: a number, or {@code null} when not finite (JSON has no NaN);
 *   <li>bytes, fixed: base64 (RFC 4648, with padding);
 *   <li>array: an array; map: an object;
 *   <li>union (the optional fields, {@code ["null", T]}): {@code null} or the value itself, not wrapped in a {@code
 *       {"T": value}} object as Avro's own JSON encoding does.
 * </ul>
 *
 * <p>Written by hand because Avro's JSON encoder wraps union values and writes bytes as ISO-8859-1 strings, which no
 * SQL engine's JSON format reads.
 */
public final class RecordJson {
    private static final JsonFactory FACTORY = new JsonFactory();

    private RecordJson() {}

    /** {@code record} as one UTF-8 JSON object (no line break). */
    public static byte[] encode(IndexedRecord record) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = FACTORY.createGenerator(out)) {
            write(json, record, record.getSchema());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + record.getSchema().getName() + " as JSON", e);
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator json, Object value, Schema schema) throws IOException {
        switch (schema.getType()) {
            case RECORD -> {
                IndexedRecord record = (IndexedRecord) value;
                json.writeStartObject();
                for (Schema.Field field : schema.getFields()) {
                    json.writeFieldName(field.name());
                    write(json, record.get(field.pos()), field.schema());
                }
                json.writeEndObject();
            }
            case UNION -> {
                if (value == null) {
                    json.writeNull();
                } else {
                    write(json, value, schema.getTypes().get(GenericData.get().resolveUnion(schema, value)));
                }
            }
            case ARRAY -> {
                json.writeStartArray();
                for (Object item : (Collection<?>) value) {
                    write(json, item, schema.getElementType());
                }
                json.writeEndArray();
            }
            case MAP -> {
                json.writeStartObject();
                for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                    json.writeFieldName(e.getKey().toString());
                    write(json, e.getValue(), schema.getValueType());
                }
                json.writeEndObject();
            }
            case ENUM, STRING -> json.writeString(value.toString());
            case BYTES -> {
                ByteBuffer buffer = ((ByteBuffer) value).duplicate();
                byte[] bytes = new byte[buffer.remaining()];
                buffer.get(bytes);
                json.writeString(Base64.getEncoder().encodeToString(bytes));
            }
            case FIXED -> json.writeString(Base64.getEncoder().encodeToString(((GenericFixed) value).bytes()));
            case INT -> json.writeNumber((Integer) value);
            case LONG -> json.writeNumber((Long) value);
            case FLOAT -> {
                float f = (Float) value;
                if (Float.isFinite(f)) {
                    json.writeNumber(f);
                } else {
                    json.writeNull();
                }
            }
            case DOUBLE -> {
                double d = (Double) value;
                if (Double.isFinite(d)) {
                    json.writeNumber(d);
                } else {
                    json.writeNull();
                }
            }
            case BOOLEAN -> json.writeBoolean((Boolean) value);
            case NULL -> json.writeNull();
        }
    }
}
