package io.meritstream.cli;

import io.meritstream.cli.bench.BenchCommand;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code bin/merit}: the command-line entry point. Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
@Command(
        name = "merit",
        mixinStandardHelpOptions = true,
        versionProvider = MeritCli.Version.class,
        subcommands = {
            DemoCommand.class,
            RunCommand.class,
            ReplayCommand.class,
            CollectCommand.class,
            WatchCommand.class,
            EvaluateCommand.class,
            BenchCommand.class,
            TuneAlertsCommand.class,
            CommandLine.HelpCommand.class
        },
        description = {
            "Real-time speech enhancement and emotion recognition for contact centres (Sparse MERIT on Apache Flink).",
            "",
            "Start with: merit demo"
        },
        footer = {"", "Exit codes: 0 ok, 1 runtime failure, 2 usage error. Logs go to a file; see each command's help."
        })
public final class MeritCli implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: demo, run, replay, collect or watch");
    }

    public static void main(String[] args) {
        int code = execute(args);
        // During a Ctrl-C shutdown System.exit would wait for the hook, which waits for this thread.
        if (!Shutdown.inProgress()) {
            System.exit(code);
        }
    }

    /** Runs the command line and returns its exit code (for tests: no System.exit). */
    public static int execute(String... args) {
        // Charts are drawn off-screen; without this AWT may look for a display.
        System.setProperty("java.awt.headless", "true");
        CommandLine cli = new CommandLine(new MeritCli());
        cli.setExecutionStrategy(parseResult -> {
            // Log4j reads merit.log.file when it first starts, so the file is chosen before any command code runs.
            Object command = parseResult
                    .asCommandLineList()
                    .get(parseResult.asCommandLineList().size() - 1)
                    .getCommand();
            Path logFile = command instanceof LogFileOwner owner ? owner.logFile() : Logging.defaultLogFile();
            Logging.useFile(logFile);
            return new CommandLine.RunLast().execute(parseResult);
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("merit " + commandLine.getCommandName() + ": " + Logging.describe(e));
            int code = e instanceof CliException ce ? ce.exitCode() : CommandLine.ExitCode.SOFTWARE;
            if (code == CommandLine.ExitCode.USAGE) {
                // A usage error has nothing more to say in the log.
                commandLine.getErr().println("(see merit " + commandLine.getCommandName() + " --help)");
            } else {
                commandLine.getErr().println("(details in " + Logging.currentLogFile() + ")");
                Logging.logFailure(commandLine.getCommandName(), e);
            }
            return code;
        });
        return cli.execute(args);
    }

    /** The version of this build, from the jar's manifest when there is one. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = MeritCli.class.getPackage().getImplementationVersion();
            return new String[] {"merit " + (version == null ? "(development build)" : version)};
        }
    }
}
