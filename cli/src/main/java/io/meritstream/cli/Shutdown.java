package io.meritstream.cli;

/**
 * Ctrl-C handling for long-running commands: the JVM's shutdown hook asks the command to stop, then waits for the
 * command's own clean-up (closing the job, the cluster, the broker) on its thread to finish.
 */
public final class Shutdown {
    private Shutdown() {}

    private static volatile boolean inProgress;
    private static Thread hook;

    /** Registers {@code onSignal} (make the command's loop stop; must return quickly). */
    public static synchronized void register(Runnable onSignal) {
        unregister();
        Thread commandThread = Thread.currentThread();
        hook = new Thread(
                () -> {
                    inProgress = true;
                    onSignal.run();
                    try {
                        commandThread.join(60_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "merit-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Removes the hook after the command finished by itself. */
    public static synchronized void unregister() {
        if (hook != null && !inProgress) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Already shutting down.
            }
        }
        hook = null;
    }

    /** True once Ctrl-C (or a kill) started the JVM's shutdown; {@code System.exit} would then block. */
    public static boolean inProgress() {
        return inProgress;
    }
}
