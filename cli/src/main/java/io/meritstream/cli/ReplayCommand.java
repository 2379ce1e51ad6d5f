package io.meritstream.cli;

import io.meritstream.avro.AudioEncoding;
import io.meritstream.cli.audio.ReplaySources;
import io.meritstream.cli.audio.StreamFramer;
import io.meritstream.cli.audio.WavAudio;
import io.meritstream.cli.kafka.Replayer;
import io.meritstream.ingest.FrameDecoder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "replay",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Replays audio files into Kafka as AudioFrame records (Avro single-object encoding, key = session id), as a"
                    + " telephony platform would stream a live call.",
            "",
            "Files: WAV (any PCM, float, μ-law or A-law format the JDK reads; AIFF/AU too). FLAC is not supported: the"
                    + " JDK has no FLAC decoder and no small, maintained Java one was worth the dependency; convert"
                    + " with e.g. ffmpeg -i in.flac out.wav.",
            "Each file is sent at its own sample rate (the job resamples to 16 kHz); the job accepts 8000, 16000,"
                    + " 22050, 44100 and 48000 Hz, and replay refuses other rates.",
            "",
            "Mapping files to (session, channel):",
            "  DIR or FILE named <session>.<channel>.wav   one mono channel of a call (the layout of data/calls)",
            "  FILE named <session>.wav                    mono: channel 'mono'; several channels: --channel-names",
            "  --file session:channel=path                 explicit; 'session:agent,customer=call.wav' splits a stereo"
                    + " file",
            "",
            "All streams start together; every stream's last frame has endOfStream=true.",
        },
        footer = {
            "",
            "Examples:",
            "  merit replay data/calls --speed 1",
            "  merit replay --file call-9:customer=customer.wav --encoding PCM_MULAW --frame-ms 20",
            "  merit replay stereo.wav --channel-names agent,customer --session-prefix test- --speed 0",
        })
public final class ReplayCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaConnection kafka;

    @Parameters(
            paramLabel = "PATH",
            arity = "0..*",
            description = "Audio files, or directories of them (not recursive).")
    List<Path> paths = new ArrayList<>();

    @Option(
            names = "--file",
            paramLabel = "SESSION:CHANNEL=PATH",
            description = "An explicit stream; CHANNEL may be a comma-separated list for a multi-channel file.")
    List<String> fileSpecs = new ArrayList<>();

    @Option(
            names = {"-t", "--topic"},
            defaultValue = "audio-frames",
            description = "Topic to write to (default: ${DEFAULT-VALUE}).")
    String topic;

    @Option(
            names = "--frame-ms",
            defaultValue = "20",
            description = "Frame length in milliseconds (default: ${DEFAULT-VALUE}).")
    double frameMs;

    @Option(
            names = {"-e", "--encoding"},
            defaultValue = "PCM_S16LE",
            description = "Payload encoding: PCM_S16LE, PCM_MULAW, PCM_ALAW (G.711) or FLOAT32LE (default:"
                    + " ${DEFAULT-VALUE}).")
    AudioEncoding encoding;

    @Option(
            names = "--speed",
            defaultValue = "1",
            description =
                    "Pace: 1 = real time, 4 = four times faster, 0 = as fast as possible (default: ${DEFAULT-VALUE}).")
    double speed;

    @Option(
            names = "--session-prefix",
            defaultValue = "",
            description = "Prepended to every session id, e.g. to replay the same calls again as new sessions.")
    String sessionPrefix;

    @Option(
            names = "--channel-names",
            split = ",",
            paramLabel = "NAME",
            description = "Channel names of multi-channel <session>.wav files, in file order (default: ch0, ch1, ...).")
    List<String> channelNames = new ArrayList<>();

    @Option(
            names = "--attribute",
            paramLabel = "KEY=VALUE",
            description = "Metadata put on every frame (AudioFrame.attributes), e.g. --attribute queue=billing.")
    Map<String, String> attributes = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (frameMs <= 0) {
            throw new ParameterException(spec.commandLine(), "--frame-ms must be positive, got " + frameMs);
        }
        if (speed < 0 || Double.isNaN(speed) || Double.isInfinite(speed)) {
            throw new ParameterException(spec.commandLine(), "--speed must be >= 0 (0 = as fast as possible)");
        }
        if (encoding == AudioEncoding.UNKNOWN) {
            throw new ParameterException(spec.commandLine(), "--encoding UNKNOWN cannot be sent");
        }
        List<StreamFramer> streams;
        try {
            streams = streams(collectSources(), encoding, frameMs, sessionPrefix, channelNames, attributes);
        } catch (IllegalArgumentException | IOException e) {
            throw new CliException(e.getMessage(), 2, e);
        }
        PrintWriter err = spec.commandLine().getErr();
        err.printf(
                "replay: %d stream(s) of %d session(s) -> %s at %s, %s, %s, %s ms frames%n",
                streams.size(),
                streams.stream().map(StreamFramer::sessionId).distinct().count(),
                topic,
                kafka.bootstrapServers(),
                speed == 0 ? "as fast as possible" : (speed == 1 ? "real time" : speed + "x real time"),
                encoding,
                frameMs);
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka.properties())) {
            ProgressLine progress = new ProgressLine(err, System.console() != null);
            long sent = new Replayer(producer, topic, speed)
                    .replay(streams, System.currentTimeMillis(), p -> progress.update(describe(p)));
            progress.finish(String.format("replay: sent %d frames to %s", sent, topic));
        }
        return 0;
    }

    static String describe(Replayer.Progress p) {
        double fraction = p.framesTotal() == 0 ? 1 : p.framesSent() / (double) p.framesTotal();
        return String.format(
                "replay %s %3.0f%%  %d/%d frames  %.1f s of audio in %.1f s",
                ProgressLine.bar(fraction, 24),
                fraction * 100,
                p.framesSent(),
                p.framesTotal(),
                p.audioMsSent() / 1000,
                p.elapsedMs() / 1000.0);
    }

    private List<ReplaySources.Source> collectSources() throws IOException {
        List<ReplaySources.Source> sources = new ArrayList<>();
        for (Path path : paths) {
            if (Files.isDirectory(path)) {
                List<ReplaySources.Source> found = ReplaySources.scan(path);
                if (found.isEmpty()) {
                    throw new IllegalArgumentException("no .wav files in " + path);
                }
                sources.addAll(found);
            } else if (Files.isRegularFile(path)) {
                sources.add(ReplaySources.fromName(path));
            } else {
                throw new IllegalArgumentException("no such file or directory: " + path);
            }
        }
        for (String fileSpec : fileSpecs) {
            sources.add(ReplaySources.parseSpec(fileSpec));
        }
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("nothing to replay: give files, a directory or --file");
        }
        return sources;
    }

    /** Reads every source and frames each of its channels; refuses rates the job would reject and duplicate streams. */
    static List<StreamFramer> streams(
            List<ReplaySources.Source> sources,
            AudioEncoding encoding,
            double frameMs,
            String sessionPrefix,
            List<String> channelNames,
            Map<String, String> attributes)
            throws IOException {
        List<StreamFramer> streams = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (ReplaySources.Source source : sources) {
            WavAudio.Audio audio = WavAudio.read(source.file());
            if (Arrays.stream(FrameDecoder.SUPPORTED_SAMPLE_RATES).noneMatch(r -> r == audio.sampleRate())) {
                throw new IllegalArgumentException(source.file() + ": sample rate " + audio.sampleRate()
                        + " Hz; the job accepts " + Arrays.toString(FrameDecoder.SUPPORTED_SAMPLE_RATES)
                        + " (resample the file first)");
            }
            List<String> names = ReplaySources.channelNames(source, audio.channels().length, channelNames);
            for (int c = 0; c < names.size(); c++) {
                String sessionId = sessionPrefix + source.sessionId();
                if (!seen.add(sessionId + "/" + names.get(c))) {
                    throw new IllegalArgumentException(
                            "stream " + sessionId + "/" + names.get(c) + " is given twice (" + source.file() + ")");
                }
                streams.add(new StreamFramer(
                        sessionId,
                        names.get(c),
                        audio.channels()[c],
                        audio.sampleRate(),
                        frameMs,
                        encoding,
                        attributes));
            }
        }
        return streams;
    }

    static KafkaProducer<byte[], byte[]> producer(Properties props) {
        Properties config = new Properties();
        config.putAll(props);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // Frames of one stream must not be reordered or duplicated by retries.
        config.putIfAbsent(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        config.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        config.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        config.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "merit-replay");
        return new KafkaProducer<>(config);
    }
}
