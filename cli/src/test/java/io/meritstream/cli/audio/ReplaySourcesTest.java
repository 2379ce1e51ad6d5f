package io.meritstream.cli.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplaySourcesTest {
    @TempDir
    Path dir;

    @Test
    void namesMapToSessionAndChannel() throws Exception {
        Files.writeString(dir.resolve("call-01.agent.wav"), "");
        Files.writeString(dir.resolve("call-01.customer.wav"), "");
        Files.writeString(dir.resolve("stereo.wav"), "");
        Files.writeString(dir.resolve("call-01.json"), "{}");

        assertThat(ReplaySources.scan(dir))
                .extracting(s -> s.sessionId() + "/" + s.channels())
                .containsExactly("call-01/[agent]", "call-01/[customer]", "stereo/[]");
    }

    @Test
    void explicitSpecsNameOneOrSeveralChannels() {
        assertThat(ReplaySources.parseSpec("c9:customer=/x/a.wav"))
                .isEqualTo(new ReplaySources.Source("c9", List.of("customer"), Path.of("/x/a.wav")));
        assertThat(ReplaySources.parseSpec("c9:agent,customer=b.wav").channels())
                .containsExactly("agent", "customer");
        assertThatThrownBy(() -> ReplaySources.parseSpec("nocolon=b.wav")).hasMessageContaining("session:channel=path");
    }

    @Test
    void channelNamesFollowTheFile() {
        ReplaySources.Source unnamed = new ReplaySources.Source("s", List.of(), Path.of("s.wav"));
        assertThat(ReplaySources.channelNames(unnamed, 1, List.of())).containsExactly("mono");
        assertThat(ReplaySources.channelNames(unnamed, 2, List.of())).containsExactly("ch0", "ch1");
        assertThat(ReplaySources.channelNames(unnamed, 2, List.of("agent", "customer")))
                .containsExactly("agent", "customer");
        ReplaySources.Source named = new ReplaySources.Source("s", List.of("agent"), Path.of("s.agent.wav"));
        assertThatThrownBy(() -> ReplaySources.channelNames(named, 2, List.of()))
                .hasMessageContaining("2 channel(s)");
    }

    @Test
    void flacIsRefusedWithAPointerToConversion() throws Exception {
        Files.writeString(dir.resolve("call.flac"), "");
        assertThatThrownBy(() -> ReplaySources.scan(dir)).hasMessageContaining("FLAC is not supported");
    }
}
