package io.meritstream.ingest;

/**
 * The key of one channel's stream, (sessionId, channel), as one string for Flink's keyBy and keyed state.
 *
 * <p>Length-prefixed so that no two pairs share a key: a plain {@code session + "/" + channel} gave ("a/b", "c") and
 * ("a", "b/c") the same key, so two calls shared one channel's state and one call's audio came out under the other's
 * id. Every stage (ingest, windower, inference, analytics) keys by this one function.
 */
public final class StreamKey {
    private StreamKey() {}

    /** {@code <length of sessionId>:<sessionId>/<channel>}, e.g. {@code 7:call-01/agent}. */
    public static String of(String sessionId, String channel) {
        return sessionId.length() + ":" + sessionId + "/" + channel;
    }
}
