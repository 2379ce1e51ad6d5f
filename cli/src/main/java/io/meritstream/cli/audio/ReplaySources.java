package io.meritstream.cli.audio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which audio file feeds which (session, channel): names in directory mode, explicit specs otherwise.
 *
 * <ul>
 *   <li>{@code <session>.<channel>.wav}: one mono channel of a call (the layout of {@code data/calls}).
 *   <li>{@code <session>.wav}: a mono file is channel {@code mono}; a file with several channels gives one stream per
 *       channel, named by {@code channelNames} (default {@code ch0, ch1, ...}).
 *   <li>{@code session:channel=path} (explicit): as above, where {@code channel} may be a comma-separated list naming
 *       the channels of a multi-channel file in order.
 * </ul>
 */
public final class ReplaySources {
    private ReplaySources() {}

    /** One file and the (session, channel names) it feeds; {@code channels} is empty when derived from the file. */
    public record Source(String sessionId, List<String> channels, Path file) {}

    private static final Pattern SPEC = Pattern.compile("([^:=]+):([^=]+)=(.+)");

    /** Parses {@code session:channel[,channel...]=path}. */
    public static Source parseSpec(String spec) {
        Matcher m = SPEC.matcher(spec);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "expected session:channel=path (channel may be a,b for a multi-channel file), got '" + spec + "'");
        }
        List<String> channels = new ArrayList<>();
        for (String channel : m.group(2).split(",", -1)) {
            if (channel.isBlank()) {
                throw new IllegalArgumentException("empty channel name in '" + spec + "'");
            }
            channels.add(channel.trim());
        }
        return new Source(m.group(1).trim(), List.copyOf(channels), Path.of(m.group(3)));
    }

    /** A file named {@code <session>.<channel>.wav} or {@code <session>.wav}. */
    public static Source fromName(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        int split = stem.lastIndexOf('.');
        if (split > 0 && split < stem.length() - 1) {
            return new Source(stem.substring(0, split), List.of(stem.substring(split + 1)), file);
        }
        return new Source(stem, List.of(), file);
    }

    /** The audio files of a directory (not recursive), sorted by name; FLAC files are refused, others ignored. */
    public static List<Source> scan(Path dir) throws IOException {
        List<Source> sources = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
                if (name.endsWith(".flac")) {
                    throw new IOException(file + ": FLAC is not supported (the JDK has no FLAC decoder); convert it"
                            + " to WAV first");
                }
                if (Files.isRegularFile(file) && name.endsWith(".wav")) {
                    sources.add(fromName(file));
                }
            }
        }
        return sources;
    }

    /**
     * The channel names of {@code source} once its file is read: the source's own names (one per file channel), or
     * for a name-less source {@code mono} / {@code channelNames} / {@code ch<i>}.
     */
    public static List<String> channelNames(Source source, int fileChannels, List<String> channelNames) {
        if (!source.channels().isEmpty()) {
            if (source.channels().size() != fileChannels) {
                throw new IllegalArgumentException(source.file() + " has " + fileChannels + " channel(s) but "
                        + source.channels().size() + " name(s) were given: " + source.channels()
                        + (fileChannels > 1
                                ? " (name a multi-channel file <session>.wav, or give session:a,b=path)"
                                : ""));
            }
            return source.channels();
        }
        if (fileChannels == 1) {
            return List.of("mono");
        }
        if (!channelNames.isEmpty()) {
            if (channelNames.size() != fileChannels) {
                throw new IllegalArgumentException(source.file() + " has " + fileChannels
                        + " channels but --channel-names" + " gives " + channelNames.size() + ": " + channelNames);
            }
            return channelNames;
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < fileChannels; i++) {
            names.add("ch" + i);
        }
        return names;
    }
}
