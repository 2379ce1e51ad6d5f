package io.meritstream.cli;

import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.slf4j.LoggerFactory;

/**
 * Where the log goes: Flink and Kafka log a great deal, so nothing reaches the terminal; warnings and errors go to a
 * file ({@code log4j2.properties} reads the system property {@code merit.log.file}).
 */
public final class Logging {
    private Logging() {}

    static final String PROPERTY = "merit.log.file";

    public static Path defaultLogFile() {
        return Path.of(System.getProperty("java.io.tmpdir"), "merit-" + System.getProperty("user.name") + ".log");
    }

    /** Chooses the log file (Log4j may have started already while the command line was built: it re-reads). */
    public static void useFile(Path file) {
        if (System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, file.toAbsolutePath().toString());
            if (LogManager.getContext(false) instanceof LoggerContext context) {
                context.reconfigure();
            }
        }
    }

    public static Path currentLogFile() {
        String file = System.getProperty(PROPERTY);
        return file == null ? defaultLogFile() : Path.of(file);
    }

    static void logFailure(String command, Exception e) {
        LoggerFactory.getLogger(MeritCli.class).error("merit {} failed", command, e);
    }

    /** The message of {@code e}, or of its innermost cause with one, for a one-line error. */
    static String describe(Throwable e) {
        if (e instanceof CliException) {
            return e.getMessage();
        }
        Throwable cause = e;
        String message = null;
        while (cause != null) {
            if (cause.getMessage() != null) {
                message = cause.getClass().getSimpleName() + ": " + cause.getMessage();
            }
            cause = cause.getCause() == cause ? null : cause.getCause();
        }
        return message == null ? e.toString() : message;
    }
}
