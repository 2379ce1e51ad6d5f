package io.meritstream.cli;

import java.time.Duration;
import org.apache.flink.util.TimeUtils;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** A command's duration option in the job's own syntax (Flink's: {@code 3s}, {@code 1500ms}, {@code 1 min}). */
final class DurationOption {
    private DurationOption() {}

    /** {@code value} of {@code option}, or a usage error (exit 2) naming both. */
    static Duration parse(CommandSpec spec, String option, String value) {
        try {
            return TimeUtils.parseDuration(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(
                    spec.commandLine(), option + " must be a duration such as 3s or 1500ms, got '" + value + "'");
        }
    }
}
