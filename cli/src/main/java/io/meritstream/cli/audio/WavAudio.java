package io.meritstream.cli.audio;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import javax.sound.sampled.UnsupportedAudioFileException;

/** WAV files in and out through {@code javax.sound.sampled}, the JDK's own audio file support. */
public final class WavAudio {
    private WavAudio() {}

    private static final float PCM16_SCALE = 1f / 32768f;

    /**
     * A decoded audio file: one float array per channel, in [-1, 1), at the file's own sample rate. 16-bit (and 8-bit)
     * PCM samples are scaled by 1/32768 as the job's decoder does, so they convert back to the same integers exactly.
     */
    public record Audio(int sampleRate, float[][] channels) {
        public int frames() {
            return channels.length == 0 ? 0 : channels[0].length;
        }

        public double seconds() {
            return frames() / (double) sampleRate;
        }
    }

    /**
     * Reads a WAV (or AIFF/AU) file with any PCM, float, μ-law or A-law sample format the JDK reads.
     *
     * @throws IOException for an unreadable file; FLAC and other compressed formats are refused with a message saying
     *     what to do
     */
    public static Audio read(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".flac")) {
            throw new IOException(file + ": FLAC is not supported (the JDK has no FLAC decoder); convert it first, e.g."
                    + " ffmpeg -i " + file.getFileName() + " -c:a pcm_s16le out.wav");
        }
        try (AudioInputStream source = AudioSystem.getAudioInputStream(file.toFile())) {
            AudioFormat format = source.getFormat();
            boolean wide = format.getEncoding() == AudioFormat.Encoding.PCM_FLOAT || format.getSampleSizeInBits() > 16;
            // Wider samples keep their precision as floats; 16-bit and narrower ones convert to 16-bit integers so
            // that a PCM16 file replays bit for bit.
            AudioFormat target = wide
                    ? new AudioFormat(
                            AudioFormat.Encoding.PCM_FLOAT,
                            format.getSampleRate(),
                            32,
                            format.getChannels(),
                            4 * format.getChannels(),
                            format.getSampleRate(),
                            false)
                    : new AudioFormat(format.getSampleRate(), 16, format.getChannels(), true, false);
            byte[] bytes;
            try (AudioInputStream converted = AudioSystem.getAudioInputStream(target, source)) {
                bytes = converted.readAllBytes();
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": cannot convert " + format + " to " + target + ": " + e.getMessage(), e);
            }
            int channelCount = format.getChannels();
            int width = wide ? 4 : 2;
            int frames = bytes.length / (width * channelCount);
            float[][] channels = new float[channelCount][frames];
            ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < frames; i++) {
                for (int c = 0; c < channelCount; c++) {
                    channels[c][i] = wide ? buffer.getFloat() : buffer.getShort() * PCM16_SCALE;
                }
            }
            return new Audio(Math.round(format.getSampleRate()), channels);
        } catch (UnsupportedAudioFileException e) {
            throw new IOException(
                    file + ": not an audio file the JDK reads (WAV, AIFF or AU with PCM, float, μ-law or"
                            + " A-law samples): " + e.getMessage(),
                    e);
        }
    }

    /** Writes mono 16-bit little-endian PCM samples as a WAV file. */
    public static void writePcm16(Path file, byte[] pcm16le, int sampleRate) throws IOException {
        AudioFormat format = new AudioFormat(sampleRate, 16, 1, true, false);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (InputStream in = new ByteArrayInputStream(pcm16le);
                AudioInputStream stream = new AudioInputStream(in, format, pcm16le.length / 2)) {
            AudioSystem.write(stream, AudioFileFormat.Type.WAVE, file.toFile());
        }
    }

    /** Writes mono float samples in [-1, 1] as a 16-bit PCM WAV file. */
    public static void writePcm16(Path file, float[] samples, int sampleRate) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(samples.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float sample : samples) {
            bytes.putShort(FrameEncoder.toPcm16(sample));
        }
        writePcm16(file, bytes.array(), sampleRate);
    }
}
