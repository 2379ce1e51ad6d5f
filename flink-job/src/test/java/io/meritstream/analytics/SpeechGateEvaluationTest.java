package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both speech gates measured on what the issue asks for: frame accuracy on the shipped calls against their scripted
 * speech segments (noisy call audio as it enters the job), and false speech on generated noise-only stretches and on
 * recorded music on hold ({@code asterisk-moh-opsound-wav}, 8 kHz, brought to 16 kHz with sox; both installed by
 * scripts/setup). Prints the table the README quotes; asserts that the trained gate is the better one.
 */
class SpeechGateEvaluationTest {
    private static final Path CALLS = Path.of("../data/calls");
    private static final Path MUSIC_ON_HOLD = Path.of("/usr/share/asterisk/moh");
    private static final int MUSIC_SECONDS = 60;

    private static SpeechGate silero;
    private static SpeechGate energy;

    @TempDir
    static Path temp;

    @BeforeAll
    static void gates() {
        silero = SpeechGate.of(AnalyticsConfig.defaults());
        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.VAD_KIND, "energy");
        energy = SpeechGate.of(AnalyticsConfig.fromConfiguration(conf));
    }

    @AfterAll
    static void close() {
        silero.close();
        energy.close();
    }

    /** Speech decisions over a whole signal, frame by frame with the gate's state, as analytics runs it. */
    static boolean[] judge(SpeechGate gate, float[] samples) {
        int frames = samples.length / gate.frameSamples();
        boolean[] speech = new boolean[frames];
        gate.judge(samples, 0, frames, new float[gate.stateSize()], speech);
        return speech;
    }

    record Score(int frames, int correct, int speechFrames, int speechHits, int falseSpeech) {
        Score plus(Score o) {
            return new Score(
                    frames + o.frames,
                    correct + o.correct,
                    speechFrames + o.speechFrames,
                    speechHits + o.speechHits,
                    falseSpeech + o.falseSpeech);
        }

        double accuracy() {
            return (double) correct / frames;
        }

        double recall() {
            return speechFrames == 0 ? 0 : (double) speechHits / speechFrames;
        }

        double falseSpeechRate() {
            int silent = frames - speechFrames;
            return silent == 0 ? 0 : (double) falseSpeech / silent;
        }
    }

    static Score score(SpeechGate gate, float[] samples, boolean[] truth) {
        boolean[] speech = judge(gate, samples);
        int frames = Math.min(speech.length, truth.length);
        int correct = 0, speechFrames = 0, hits = 0, falseSpeech = 0;
        for (int f = 0; f < frames; f++) {
            if (speech[f] == truth[f]) {
                correct++;
            }
            if (truth[f]) {
                speechFrames++;
                if (speech[f]) {
                    hits++;
                }
            } else if (speech[f]) {
                falseSpeech++;
            }
        }
        return new Score(frames, correct, speechFrames, hits, falseSpeech);
    }

    /** Per frame of {@code gate}: whether its centre lies in one of the channel's scripted segments. */
    static boolean[] scripted(JsonNode call, String channel, int samples, int frameSamples) {
        boolean[] truth = new boolean[samples / frameSamples];
        for (JsonNode segment : call.get("segments")) {
            if (!segment.get("channel").asText().equals(channel)) {
                continue;
            }
            double start = segment.get("start_s").asDouble() * 16_000;
            double end = segment.get("end_s").asDouble() * 16_000;
            for (int f = 0; f < truth.length; f++) {
                double centre = (f + 0.5) * frameSamples;
                if (centre >= start && centre < end) {
                    truth[f] = true;
                }
            }
        }
        return truth;
    }

    static Score onCalls(SpeechGate gate) throws IOException {
        Score total = new Score(0, 0, 0, 0, 0);
        List<Path> scripts;
        try (Stream<Path> files = Files.list(CALLS)) {
            scripts = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertThat(scripts).as("shipped calls in %s", CALLS).isNotEmpty();
        for (Path script : scripts) {
            JsonNode call = new ObjectMapper().readTree(script.toFile());
            for (var channel : (Iterable<java.util.Map.Entry<String, JsonNode>>)
                    () -> call.get("channels").fields()) {
                float[] audio = wav(CALLS.resolve(channel.getValue().get("file").asText()));
                total = total.plus(
                        score(gate, audio, scripted(call, channel.getKey(), audio.length, gate.frameSamples())));
            }
        }
        return total;
    }

    static Score onNoise(SpeechGate gate) {
        Score total = new Score(0, 0, 0, 0, 0);
        List<float[]> noises = List.of(
                TestSignals.whiteNoise(30 * 16_000, -30, 1),
                TestSignals.whiteNoise(30 * 16_000, -45, 2),
                TestSignals.brownNoise(30 * 16_000, -30, 3),
                TestSignals.hum(30 * 16_000, 50, -30));
        for (float[] noise : noises) {
            total = total.plus(score(gate, noise, new boolean[noise.length / gate.frameSamples()]));
        }
        return total;
    }

    static Score onMusic(SpeechGate gate) throws Exception {
        Score total = new Score(0, 0, 0, 0, 0);
        File[] files = MUSIC_ON_HOLD.toFile().listFiles((dir, name) -> name.endsWith(".wav"));
        assertThat(files)
                .as("music on hold in %s (scripts/setup installs it)", MUSIC_ON_HOLD)
                .isNotEmpty();
        for (File file : files) {
            Path resampled = temp.resolve(file.getName());
            if (!Files.exists(resampled)) {
                Process sox = new ProcessBuilder(
                                "sox",
                                file.getPath(),
                                "-r",
                                "16000",
                                resampled.toString(),
                                "trim",
                                "0",
                                Integer.toString(MUSIC_SECONDS))
                        .inheritIO()
                        .start();
                assertThat(sox.waitFor()).as("sox on %s", file).isZero();
            }
            float[] music = wav(resampled);
            total = total.plus(score(gate, music, new boolean[music.length / gate.frameSamples()]));
        }
        return total;
    }

    @Test
    void theTrainedGateIsMoreAccurateOnCallsAndCallsLessMusicSpeech() throws Exception {
        Score sileroCalls = onCalls(silero);
        Score energyCalls = onCalls(energy);
        Score sileroNoise = onNoise(silero);
        Score energyNoise = onNoise(energy);
        Score sileroMusic = onMusic(silero);
        Score energyMusic = onMusic(energy);
        System.out.printf(
                "speech gates (frames of each gate's own length)%n"
                        + "| gate | calls: frame accuracy | calls: speech recall | calls: false speech"
                        + " | noise: false speech | music on hold: false speech |%n"
                        + "%s%n%s%n",
                row("silero-vad-v5", sileroCalls, sileroNoise, sileroMusic),
                row("energy", energyCalls, energyNoise, energyMusic));

        assertThat(sileroCalls.accuracy()).isGreaterThan(energyCalls.accuracy());
        assertThat(sileroCalls.accuracy()).isGreaterThan(0.85);
        assertThat(sileroNoise.falseSpeechRate()).isLessThan(0.05);
        assertThat(sileroMusic.falseSpeechRate()).isLessThan(energyMusic.falseSpeechRate());
    }

    private static String row(String gate, Score calls, Score noise, Score music) {
        return String.format(
                "| %s | %.3f | %.3f | %.3f | %.3f | %.3f |",
                gate,
                calls.accuracy(),
                calls.recall(),
                calls.falseSpeechRate(),
                noise.falseSpeechRate(),
                music.falseSpeechRate());
    }

    /** A mono 16-bit WAV as floats in [-1, 1). */
    static float[] wav(Path path) throws IOException {
        try (AudioInputStream in = AudioSystem.getAudioInputStream(path.toFile())) {
            assertThat(in.getFormat().getSampleRate()).as("rate of %s", path).isEqualTo(16_000f);
            assertThat(in.getFormat().getChannels()).isEqualTo(1);
            byte[] bytes = in.readAllBytes();
            ByteBuffer buffer = ByteBuffer.wrap(bytes)
                    .order(in.getFormat().isBigEndian() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
            float[] samples = new float[bytes.length / 2];
            for (int i = 0; i < samples.length; i++) {
                samples[i] = buffer.getShort() / 32768f;
            }
            return samples;
        } catch (javax.sound.sampled.UnsupportedAudioFileException e) {
            throw new IOException("not a WAV file: " + path, e);
        }
    }
}
