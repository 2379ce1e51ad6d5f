package io.meritstream.cli.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.cli.audio.WavAudio;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnhancedAudioAssemblerTest {
    private static final int HOP = 16_000;

    @TempDir
    Path dir;

    @Test
    void sessionIdsFromKafkaNeverWriteOutsideTheFolderNorShareAFile() throws Exception {
        Path out = Files.createDirectories(dir.resolve("out"));
        EnhancedAudioAssembler assembler = new EnhancedAudioAssembler();
        for (String session : List.of("../../escaped", "/tmp/absolute", "a/b", "a_b", "..")) {
            assembler.add(chunk(session, "agent", 0, true));
        }
        assembler.add(chunk("call-1", "../agent", 0, true));

        List<EnhancedAudioAssembler.Written> written = assembler.writeAll(out);

        assertThat(written).hasSize(6);
        assertThat(written).allSatisfy(w -> assertThat(w.file().getParent()).isEqualTo(out.toAbsolutePath()));
        assertThat(written.stream().map(w -> w.file().getFileName().toString()).distinct())
                .hasSize(6);
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(out); // nothing beside out/
        }
    }

    @Test
    void chunksInAnyOrderAndRepeatedMakeOneContinuousWavInSeqOrder() throws Exception {
        List<EnhancedAudioChunk> chunks = new ArrayList<>();
        for (int seq = 0; seq < 5; seq++) {
            chunks.add(chunk("call-1", "agent", seq, seq == 4));
        }
        List<EnhancedAudioChunk> shuffled = new ArrayList<>(chunks);
        Collections.shuffle(shuffled, new Random(5));
        shuffled.add(chunks.get(2));
        EnhancedAudioAssembler assembler = new EnhancedAudioAssembler();
        shuffled.forEach(assembler::add);
        assembler.add(chunk("call-1", "customer", 0, true));

        List<EnhancedAudioAssembler.Written> written = assembler.writeAll(dir);

        assertThat(assembler.duplicates()).isEqualTo(1);
        assertThat(written).hasSize(2);
        EnhancedAudioAssembler.Written agent = written.get(0);
        assertThat(agent.file().getFileName().toString()).isEqualTo("call-1.agent.enhanced.wav");
        assertThat(agent.chunks()).isEqualTo(5);
        assertThat(agent.complete()).isTrue();
        WavAudio.Audio audio = WavAudio.read(agent.file());
        assertThat(audio.sampleRate()).isEqualTo(16_000);
        assertThat(audio.frames()).isEqualTo(5 * HOP);
        // Each chunk holds its seq number as a constant: the file must step 0, 1, 2, 3, 4 in order.
        for (int seq = 0; seq < 5; seq++) {
            assertThat(audio.channels()[0][seq * HOP]).isEqualTo(level(seq));
            assertThat(audio.channels()[0][seq * HOP + HOP - 1]).isEqualTo(level(seq));
        }
    }

    @Test
    void aMissingChunkBecomesSilenceOfItsLengthAndIsReported() throws Exception {
        EnhancedAudioAssembler assembler = new EnhancedAudioAssembler();
        for (int seq : new int[] {0, 1, 3}) {
            assembler.add(chunk("c", "m", seq, seq == 3));
        }
        EnhancedAudioAssembler.Written w = assembler.writeAll(dir).get(0);
        assertThat(w.missingSeqs()).containsExactly(2L);
        assertThat(w.complete()).isFalse();
        float[] samples = WavAudio.read(w.file()).channels()[0];
        assertThat(samples).hasSize(4 * HOP);
        assertThat(samples[2 * HOP + 10]).isZero();
        assertThat(samples[3 * HOP + 10]).isEqualTo(level(3));
    }

    private static float level(int seq) {
        return (seq + 1) * 1000 / 32768f;
    }

    private static EnhancedAudioChunk chunk(String session, String channel, int seq, boolean end) {
        ByteBuffer pcm = ByteBuffer.allocate(2 * HOP).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < HOP; i++) {
            pcm.putShort((short) ((seq + 1) * 1000));
        }
        pcm.flip();
        return EnhancedAudioChunk.newBuilder()
                .setSessionId(session)
                .setChannel(channel)
                .setSeq(seq)
                .setStartSample((long) seq * HOP)
                .setPayload(pcm)
                .setModelVersion("test")
                .setEndOfStream(end)
                .build();
    }
}
