package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.inference.WindowResult;
import io.meritstream.session.WindowRequest;
import org.junit.jupiter.api.Test;

class StreamKeyTest {

    @Test
    void sessionsAndChannelsThatJoinToTheSameTextKeepTheirOwnStreams() {
        // with session + "/" + channel both were "a/b/c": two calls shared one channel's state
        assertThat(StreamKey.of("a/b", "c")).isNotEqualTo(StreamKey.of("a", "b/c"));
        assertThat(StreamKey.of("", "a/b")).isNotEqualTo(StreamKey.of("a", "b")).isNotEqualTo(StreamKey.of("a/", "b"));
        assertThat(StreamKey.of("call-01", "agent")).isEqualTo(StreamKey.of("call-01", "agent"));
    }

    @Test
    void everyStageKeysByTheSameFunction() {
        WindowRequest request = new WindowRequest();
        request.sessionId = "a/b";
        request.channel = "c";
        WindowResult result = new WindowResult();
        result.sessionId = "a";
        result.channel = "b/c";
        assertThat(request.streamKey()).isEqualTo(StreamKey.of("a/b", "c"));
        assertThat(result.streamKey()).isEqualTo(StreamKey.of("a", "b/c")).isNotEqualTo(request.streamKey());
    }
}
