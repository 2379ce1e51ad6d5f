package io.meritstream.job;

import io.meritstream.avro.CallSummary;
import io.meritstream.avro.DeadLetter;
import io.meritstream.avro.EmotionAlert;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EmotionTrend;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.ingest.StreamKey;

/**
 * The {@value #HEADER} header of every output record: an id that is the same each time the job writes the record, so a
 * consumer of an at-least-once topic drops repeats after a restart by keeping the first record of each id.
 *
 * <p>Ids are unique within their topic. They are built from what identifies a record in its schema (the channel's
 * {@link StreamKey} and the window index, chunk seq or source offset), fixed fields first and the stream key last: the
 * stream key is length-prefixed and its channel runs to the end, so no two records share an id whatever their ids
 * contain.
 */
public final class RecordIds {
    /** Name of the Kafka header that carries the id (UTF-8). */
    public static final String HEADER = "merit-record-id";

    private RecordIds() {}

    /** {@code event/<windowIndex>/<stream key>}. */
    public static String of(EmotionEvent e) {
        return "event/" + e.getWindowIndex() + "/" + key(e.getSessionId(), e.getChannel());
    }

    /** {@code trend/<kind>/<windowIndex>/<stream key>}: an update and the summary may share a window. */
    public static String of(EmotionTrend t) {
        return "trend/" + t.getKind() + "/" + t.getWindowIndex() + "/" + key(t.getSessionId(), t.getChannel());
    }

    /** {@code alert/<kind>/<windowIndex>/<stream key>}: a spike's start and end never share a window. */
    public static String of(EmotionAlert a) {
        return "alert/" + a.getKind() + "/" + a.getWindowIndex() + "/" + key(a.getSessionId(), a.getChannel());
    }

    /**
     * {@code summary/<kind>/<durationMs>/<session id>}: a call's PROGRESS summaries differ in the call time they
     * cover.
     */
    public static String of(CallSummary s) {
        return "summary/" + s.getKind() + "/" + s.getDurationMs() + "/" + s.getSessionId();
    }

    /** {@code audio/<seq>/<stream key>}. */
    public static String of(EnhancedAudioChunk c) {
        return "audio/" + c.getSeq() + "/" + key(c.getSessionId(), c.getChannel());
    }

    /**
     * {@code dead-letter/<reason>/<partition>/<offset>/<source topic>}: one input record, one dead letter per reason
     * (topic names have no '/').
     */
    public static String of(DeadLetter d) {
        return "dead-letter/" + d.getReason() + "/" + d.getPartition() + "/" + d.getOffset() + "/" + d.getSourceTopic();
    }

    private static String key(CharSequence sessionId, CharSequence channel) {
        return StreamKey.of(sessionId.toString(), channel.toString());
    }
}
