package io.meritstream.schemas;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * A binary decoder over one message body that refuses every declared string, bytes length or array/map block count
 * larger than the body itself, before anything is allocated.
 *
 * <p>Why: Avro's {@code BinaryDecoder} allocates a declared length first and reads it afterwards, so a 15-byte record
 * that claims a 2^30-byte string throws {@link OutOfMemoryError} — an {@link Error}, which the job cannot dead-letter
 * and which restarts it on the same offset forever. No value of the body can be longer than the body, and every item
 * of this project's arrays and maps takes at least one byte, so the body's length is a bound that never rejects a valid
 * record. Avro's own {@code org.apache.avro.limits.*} system properties would need setting in every TaskManager JVM
 * before Avro's first use, and take one global number rather than the record's size.
 */
final class BoundedDecoder extends Decoder {
    private final BinaryDecoder in;
    private final int limit;

    BoundedDecoder(BinaryDecoder in, int bodyLength) {
        this.in = in;
        this.limit = bodyLength;
    }

    private int length(long declared, String what) {
        if (declared < 0 || declared > limit) {
            throw new SchemaDecodingException(
                    String.format("declared %s %d does not fit in the %d-byte body", what, declared, limit));
        }
        return (int) declared;
    }

    private long count(long declared, String what) {
        // Negative block counts are legal (a byte size follows); Avro reads that size itself.
        if (Math.abs(declared) > limit) {
            throw new SchemaDecodingException(
                    String.format("declared %s of %d items does not fit in the %d-byte body", what, declared, limit));
        }
        return declared;
    }

    @Override
    public void readNull() throws IOException {
        in.readNull();
    }

    @Override
    public boolean readBoolean() throws IOException {
        return in.readBoolean();
    }

    @Override
    public int readInt() throws IOException {
        return in.readInt();
    }

    @Override
    public long readLong() throws IOException {
        return in.readLong();
    }

    @Override
    public float readFloat() throws IOException {
        return in.readFloat();
    }

    @Override
    public double readDouble() throws IOException {
        return in.readDouble();
    }

    @Override
    public Utf8 readString(Utf8 old) throws IOException {
        byte[] bytes = new byte[length(in.readLong(), "string length")];
        in.readFixed(bytes, 0, bytes.length);
        return new Utf8(bytes);
    }

    @Override
    public String readString() throws IOException {
        return readString(null).toString();
    }

    @Override
    public void skipString() throws IOException {
        in.skipFixed(length(in.readLong(), "string length"));
    }

    @Override
    public ByteBuffer readBytes(ByteBuffer old) throws IOException {
        byte[] bytes = new byte[length(in.readLong(), "bytes length")];
        in.readFixed(bytes, 0, bytes.length);
        return ByteBuffer.wrap(bytes);
    }

    @Override
    public void skipBytes() throws IOException {
        in.skipFixed(length(in.readLong(), "bytes length"));
    }

    @Override
    public void readFixed(byte[] bytes, int start, int length) throws IOException {
        in.readFixed(bytes, start, length);
    }

    @Override
    public void skipFixed(int length) throws IOException {
        in.skipFixed(length);
    }

    @Override
    public int readEnum() throws IOException {
        return in.readEnum();
    }

    @Override
    public long readArrayStart() throws IOException {
        return count(in.readArrayStart(), "array block");
    }

    @Override
    public long arrayNext() throws IOException {
        return count(in.arrayNext(), "array block");
    }

    @Override
    public long skipArray() throws IOException {
        return count(in.skipArray(), "array block");
    }

    @Override
    public long readMapStart() throws IOException {
        return count(in.readMapStart(), "map block");
    }

    @Override
    public long mapNext() throws IOException {
        return count(in.mapNext(), "map block");
    }

    @Override
    public long skipMap() throws IOException {
        return count(in.skipMap(), "map block");
    }

    @Override
    public int readIndex() throws IOException {
        return in.readIndex();
    }
}
