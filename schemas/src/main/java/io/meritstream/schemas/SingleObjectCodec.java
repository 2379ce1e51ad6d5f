package io.meritstream.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;

/**
 * Kafka wire format of every topic: Avro single-object encoding (magic {@code C3 01}, the 8-byte little-endian
 * CRC-64-AVRO fingerprint of the writer schema, then the Avro binary body).
 *
 * <p>The decoder knows the current schema of the record and every earlier version committed under {@code
 * schema-history/<Record>.v<N>.avsc}, so data written by an older producer is read with schema resolution. Thread-safe.
 */
public final class SingleObjectCodec<T extends SpecificRecord> {

    private static final byte[] MAGIC = {(byte) 0xC3, (byte) 0x01};
    private static final int HEADER_LENGTH = 10;

    private final Class<T> type;
    private final Schema schema;
    private final SpecificData model;
    private final BinaryMessageEncoder<T> encoder;
    /** Writer schemas by their fingerprint (as a little-endian long): the current one and every committed version. */
    private final Map<Long, Schema> writers = new LinkedHashMap<>();
    /** Datum readers per writer fingerprint; a reader caches its schema resolution, but is not for sharing. */
    private final ThreadLocal<Map<Long, DatumReader<T>>> readers = ThreadLocal.withInitial(HashMap::new);

    private SingleObjectCodec(Class<T> type) {
        this.type = type;
        this.schema = SpecificData.get().getSchema(type);
        this.model = SpecificData.getForClass(type);
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        writers.put(SchemaNormalization.parsingFingerprint64(schema), schema);
        for (Schema previous : SchemaHistory.versionsOf(schema.getName())) {
            writers.putIfAbsent(SchemaNormalization.parsingFingerprint64(previous), previous);
        }
    }

    public static <T extends SpecificRecord> SingleObjectCodec<T> of(Class<T> type) {
        return new SingleObjectCodec<>(type);
    }

    public Schema schema() {
        return schema;
    }

    /** Fingerprint written into every message of this type, as it appears on the wire (hex, little-endian bytes). */
    public String fingerprintHex() {
        return fingerprintHex(schema);
    }

    public byte[] encode(T record) {
        try {
            ByteBuffer buffer = encoder.encode(record);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + schema.getName(), e);
        }
    }

    /**
     * Decodes one message.
     *
     * @throws SchemaDecodingException naming what is wrong: not single-object encoded, a fingerprint of no known
     *     version of this record, or a body that does not match its schema
     */
    public T decode(byte[] bytes) {
        if (bytes == null || bytes.length < HEADER_LENGTH || bytes[0] != MAGIC[0] || bytes[1] != MAGIC[1]) {
            throw new SchemaDecodingException(String.format(
                    "not an Avro single-object message for %s: expected magic C3 01 and a %d-byte header, got %s",
                    schema.getName(), HEADER_LENGTH, describeStart(bytes)));
        }
        long fingerprint =
                ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Schema writer = writers.get(fingerprint);
        if (writer == null) {
            throw new SchemaDecodingException(String.format(
                    "unknown writer schema fingerprint %s for %s; known versions have %s",
                    HexFormat.of().formatHex(bytes, 2, HEADER_LENGTH),
                    schema.getName(),
                    writers.values().stream()
                            .map(SingleObjectCodec::fingerprintHex)
                            .toList()));
        }
        int bodyLength = bytes.length - HEADER_LENGTH;
        try {
            BinaryDecoder body = DecoderFactory.get().binaryDecoder(bytes, HEADER_LENGTH, bodyLength, null);
            return readers.get()
                    .computeIfAbsent(fingerprint, f -> new SpecificDatumReader<>(writer, schema, model))
                    .read(null, new BoundedDecoder(body, bodyLength));
        } catch (SchemaDecodingException e) {
            throw new SchemaDecodingException(
                    String.format("corrupt %s body (%d bytes): %s", schema.getName(), bytes.length, e.getMessage()), e);
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException e) {
            throw new SchemaDecodingException(
                    String.format("corrupt %s body (%d bytes): %s", schema.getName(), bytes.length, e), e);
        }
    }

    public Class<T> type() {
        return type;
    }

    static String fingerprintHex(Schema schema) {
        long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
        byte[] littleEndian = new byte[8];
        for (int i = 0; i < 8; i++) {
            littleEndian[i] = (byte) (fingerprint >>> (8 * i));
        }
        return HexFormat.of().formatHex(littleEndian);
    }

    private static String describeStart(byte[] bytes) {
        if (bytes == null) {
            return "null";
        }
        int shown = Math.min(bytes.length, 8);
        return bytes.length + " bytes starting " + HexFormat.of().formatHex(bytes, 0, shown);
    }

    /** Committed earlier versions of each record, used to read data from older writers. */
    static final class SchemaHistory {
        private SchemaHistory() {}

        /** Earlier versions of the named record, oldest first; empty when it never changed. */
        static List<Schema> versionsOf(String recordName) {
            List<Schema> versions = new ArrayList<>();
            for (int version = 1; ; version++) {
                String resource = "/schema-history/" + recordName + ".v" + version + ".avsc";
                try (InputStream in = SingleObjectCodec.class.getResourceAsStream(resource)) {
                    if (in == null) {
                        return versions;
                    }
                    versions.add(new Schema.Parser().parse(in));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + resource, e);
                }
            }
        }
    }
}
