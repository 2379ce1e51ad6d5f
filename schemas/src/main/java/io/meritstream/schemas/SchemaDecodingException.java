package io.meritstream.schemas;

/** Bytes that are not a message of the expected record; the message says which part is wrong. */
public final class SchemaDecodingException extends RuntimeException {
    public SchemaDecodingException(String message) {
        super(message);
    }

    public SchemaDecodingException(String message, Throwable cause) {
        super(message, cause);
    }
}
