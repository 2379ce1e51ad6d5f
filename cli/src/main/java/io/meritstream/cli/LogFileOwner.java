package io.meritstream.cli;

import java.nio.file.Path;

/** A command that keeps its log beside its outputs. */
public interface LogFileOwner {
    Path logFile();
}
