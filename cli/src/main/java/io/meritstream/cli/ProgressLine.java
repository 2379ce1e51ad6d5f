package io.meritstream.cli;

import java.io.PrintWriter;

/**
 * A progress report on stderr: redrawn in place on a terminal, or a plain line every few seconds when output goes to a
 * file or pipe, so logs stay readable.
 */
public final class ProgressLine {
    private final PrintWriter out;
    private final boolean terminal;
    private final long intervalNanos;
    private long lastNanos;
    private int lastLength;

    public ProgressLine(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
        this.intervalNanos = terminal ? 100_000_000L : 5_000_000_000L;
        this.lastNanos = System.nanoTime() - intervalNanos;
    }

    /** Shows {@code text} unless the last update was too recent. */
    public void update(String text) {
        long now = System.nanoTime();
        if (now - lastNanos < intervalNanos) {
            return;
        }
        lastNanos = now;
        show(text);
    }

    /** Shows {@code text} as the final state and ends the line. */
    public void finish(String text) {
        show(text);
        if (terminal) {
            out.println();
        }
        out.flush();
    }

    private void show(String text) {
        if (terminal) {
            String padded = text.length() < lastLength ? text + " ".repeat(lastLength - text.length()) : text;
            out.print("\r" + padded);
            lastLength = text.length();
        } else {
            out.println(text);
        }
        out.flush();
    }

    /** A bar of {@code width} cells for a fraction in [0, 1]. */
    public static String bar(double fraction, int width) {
        double clamped = Math.max(0, Math.min(1, fraction));
        int full = (int) Math.round(clamped * width);
        return "[" + "█".repeat(full) + "·".repeat(width - full) + "]";
    }
}
