package io.meritstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class FileNamesTest {

    @Test
    void plainIdsStayAsTheyAre() {
        assertThat(FileNames.part("call-01")).isEqualTo("call-01");
        assertThat(FileNames.part("agent")).isEqualTo("agent");
        assertThat(FileNames.part("2026-12-01_queue.7")).isEqualTo("2026-12-01_queue.7");
    }

    @Test
    void anyOtherIdBecomesOneSafePartOfItsOwn() {
        for (String id : new String[] {"../../etc/passwd", "/abs", "..", ".", ".hidden", "a b", "x".repeat(500), ""}) {
            String part = FileNames.part(id);
            assertThat(part)
                    .as(id)
                    .matches("[A-Za-z0-9_~-][A-Za-z0-9._~-]*")
                    .doesNotContain("/")
                    .hasSizeLessThan(80);
        }
        assertThat(FileNames.part("a/b")).isNotEqualTo(FileNames.part("a_b")).isNotEqualTo("a_b");
    }

    @Test
    void insideRefusesNamesThatLeaveTheFolder() {
        Path dir = Path.of("/tmp/out");
        assertThat(FileNames.inside(dir, "call-01.wav")).isEqualTo(Path.of("/tmp/out/call-01.wav"));
        assertThatThrownBy(() -> FileNames.inside(dir, "../x.wav")).hasMessageContaining("leaves /tmp/out");
        assertThatThrownBy(() -> FileNames.inside(dir, "sub/x.wav")).hasMessageContaining("leaves");
    }
}
