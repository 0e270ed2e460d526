package dev.magvit4j.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr for multi-item work: done/total, rate and time left, redrawn
 * in place at most ten times a second. Drawn only on an interactive terminal and for more than
 * one item, so logs and pipes stay clean.
 */
final class Progress implements AutoCloseable {

    private final String what, unit;
    private final int total;
    private final PrintStream out;
    private final boolean live;
    private final long start = System.nanoTime();
    private long lastDraw;
    private int done;

    Progress(String what, int total, String unit) {
        this(what, total, unit, System.err, System.console() != null && total > 1);
    }

    Progress(String what, int total, String unit, PrintStream out, boolean live) {
        this.what = what;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.live = live;
    }

    void advance(int n) {
        done += n;
        long now = System.nanoTime();
        if (live && (now - lastDraw > 100_000_000L || done >= total)) {
            lastDraw = now;
            out.print("\r" + line(now));
            out.flush();
        }
    }

    /** Items per second so far. */
    double rate() {
        double s = (System.nanoTime() - start) / 1e9;
        return s > 0 ? done / s : 0;
    }

    String line(long now) {
        int width = 30, filled = total == 0 ? width : (int) ((long) width * done / total);
        double seconds = (now - start) / 1e9, rate = seconds > 0 ? done / seconds : 0;
        long left = rate > 0 ? Math.round((total - done) / rate) : 0;
        return String.format(Locale.ROOT, "%s [%s%s] %d/%d %s  %.2f %s/s  ETA %d:%02d ", what, "#".repeat(filled), ".".repeat(width - filled),
                done, total, unit, rate, unit, left / 60, left % 60);
    }

    @Override
    public void close() {
        if (live) out.println();
    }
}
