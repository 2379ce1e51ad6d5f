package io.meritstream.cli.kafka;

import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.cli.FileNames;
import io.meritstream.cli.audio.WavAudio;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reassembles the enhanced audio of each (session, channel) from its {@link EnhancedAudioChunk}s, whatever order they
 * arrive in: chunks are put in seq order, a repeated seq (an at-least-once redelivery) counts once, and a missing
 * chunk becomes silence of its length so that the rest stays in time.
 */
public final class EnhancedAudioAssembler {
    /** What was written for one stream. */
    public record Written(
            String sessionId,
            String channel,
            Path file,
            int chunks,
            long samples,
            List<Long> missingSeqs,
            boolean complete) {}

    private final Map<String, TreeMap<Long, EnhancedAudioChunk>> streams = new TreeMap<>();
    private long duplicates;

    public void add(EnhancedAudioChunk chunk) {
        TreeMap<Long, EnhancedAudioChunk> chunks =
                streams.computeIfAbsent(chunk.getSessionId() + "\u0000" + chunk.getChannel(), k -> new TreeMap<>());
        if (chunks.putIfAbsent(chunk.getSeq(), chunk) != null) {
            duplicates++;
        }
    }

    public long duplicates() {
        return duplicates;
    }

    public int streamCount() {
        return streams.size();
    }

    /** The PCM16 bytes of one stream in seq order, gaps filled with silence; null for an unknown stream. */
    public byte[] pcm(String sessionId, String channel) {
        TreeMap<Long, EnhancedAudioChunk> chunks = streams.get(sessionId + "\u0000" + channel);
        return chunks == null ? null : assemble(chunks, new ArrayList<>());
    }

    /** Writes {@code <session>.<channel>.enhanced.wav} for every stream into {@code dir}. */
    public List<Written> writeAll(Path dir) throws IOException {
        List<Written> written = new ArrayList<>();
        for (TreeMap<Long, EnhancedAudioChunk> chunks : streams.values()) {
            EnhancedAudioChunk first = chunks.firstEntry().getValue();
            List<Long> missing = new ArrayList<>();
            byte[] pcm = assemble(chunks, missing);
            Path file = FileNames.inside(dir, fileName(first.getSessionId(), first.getChannel()));
            WavAudio.writePcm16(file, pcm, first.getSampleRate());
            boolean complete = chunks.lastEntry().getValue().getEndOfStream() && missing.isEmpty();
            written.add(new Written(
                    first.getSessionId(), first.getChannel(), file, chunks.size(), pcm.length / 2, missing, complete));
        }
        return written;
    }

    /** {@code <session>.<channel>.enhanced.wav}, each id made a safe file-name part ({@link FileNames#part}). */
    public static String fileName(String sessionId, String channel) {
        return FileNames.part(sessionId) + "." + FileNames.part(channel) + ".enhanced.wav";
    }

    private static byte[] assemble(TreeMap<Long, EnhancedAudioChunk> chunks, List<Long> missing) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long expectedSeq = 0;
        long lastLength = 0;
        for (EnhancedAudioChunk chunk : chunks.values()) {
            for (long seq = expectedSeq; seq < chunk.getSeq(); seq++) {
                missing.add(seq);
            }
            // Place the chunk at its own startSample: after a gap the silence is exactly as long as what is missing
            // (or, without positions, one previous chunk's length per missing seq).
            long position = out.size() / 2;
            long silence = chunk.getStartSample() > position
                    ? chunk.getStartSample() - position
                    : (chunk.getSeq() - expectedSeq) * lastLength;
            out.write(new byte[(int) (2 * silence)], 0, (int) (2 * silence));
            ByteBuffer payload = chunk.getPayload().duplicate();
            byte[] bytes = new byte[payload.remaining()];
            payload.get(bytes);
            out.write(bytes, 0, bytes.length);
            lastLength = bytes.length / 2;
            expectedSeq = chunk.getSeq() + 1;
        }
        return out.toByteArray();
    }
}
