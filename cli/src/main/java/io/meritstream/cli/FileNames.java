package io.meritstream.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * File names built from ids that arrive on Kafka (session ids, channels): {@code collect}, the demo and the report
 * write one file per call and channel, and an id is whatever a producer sent. A session id {@code ../../x} or {@code
 * /etc/x} must not write outside {@code --out}, and two ids must not share a file.
 */
public final class FileNames {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}");

    private FileNames() {}

    /**
     * {@code id} itself when it is a plain name (letters, digits, {@code . _ -}, not starting with a dot, at most 100
     * characters); otherwise its unsafe characters replaced by {@code _}, cut to 64, and the CRC-32 of the original
     * appended, so that {@code a/b} and {@code a_b} still get different files.
     */
    public static String part(String id) {
        if (SAFE.matcher(id).matches()) {
            return id;
        }
        String cleaned = id.replaceAll("[^A-Za-z0-9._-]", "_").replaceFirst("^\\.", "_");
        CRC32 crc = new CRC32();
        crc.update(id.getBytes(StandardCharsets.UTF_8));
        return cleaned.substring(0, Math.min(cleaned.length(), 64)) + "~"
                + HexFormat.of().toHexDigits((int) crc.getValue());
    }

    /** {@code dir/name}, refusing any name that would leave {@code dir}. */
    public static Path inside(Path dir, String name) {
        Path base = dir.toAbsolutePath().normalize();
        Path file = base.resolve(name).normalize();
        if (!file.getParent().equals(base)) {
            throw new IllegalArgumentException("file name " + name + " leaves " + base);
        }
        return file;
    }
}
