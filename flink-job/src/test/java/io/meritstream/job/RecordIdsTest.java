package io.meritstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.EnhancedAudioChunk;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class RecordIdsTest {

    @Test
    void theIdIsBuiltFromTheRecordsIdentityAndNothingElse() {
        EnhancedAudioChunk chunk = chunk("call-1", "agent", 7, new byte[] {1, 2});
        assertThat(RecordIds.of(chunk)).isEqualTo("audio/7/6:call-1/agent");
        // A repeat after a restart may differ in its payload's last bits (another micro-batch): same id.
        assertThat(RecordIds.of(chunk("call-1", "agent", 7, new byte[] {3, 4}))).isEqualTo(RecordIds.of(chunk));
        assertThat(RecordIds.of(chunk("call-1", "agent", 8, new byte[0]))).isNotEqualTo(RecordIds.of(chunk));
    }

    @Test
    void idsThatAPlainSeparatorWouldMergeStayApart() {
        // "a/b" + "c" and "a" + "b/c" joined by '/' are the same string.
        assertThat(RecordIds.of(chunk("a/b", "c", 1, new byte[0])))
                .isNotEqualTo(RecordIds.of(chunk("a", "b/c", 1, new byte[0])));
    }

    private static EnhancedAudioChunk chunk(String session, String channel, long seq, byte[] payload) {
        return EnhancedAudioChunk.newBuilder()
                .setSessionId(session)
                .setChannel(channel)
                .setSeq(seq)
                .setStartSample(seq * 16_000)
                .setPayload(ByteBuffer.wrap(payload))
                .setModelVersion("m")
                .build();
    }
}
