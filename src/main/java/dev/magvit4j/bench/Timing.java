package dev.magvit4j.bench;

import java.util.Arrays;

/** Wall-clock timing with warm-up: the median of repeated runs. */
public final class Timing {

    private Timing() {}

    /**
     * How runs on a device are timed. A run is over when {@code sync} returns (it waits for the
     * work the run queued); runs are timed in batches lasting about {@code batchSeconds}, with one
     * synchronisation per batch, so its fixed cost does not count against short kernels (the time
     * per run is the batch's time divided by its runs); {@code idle} runs between batches, untimed.
     */
    public record Clock(Runnable sync, Runnable idle, double batchSeconds) {
        /** The CPU's: a run is over when it returns, and each run is timed alone. */
        public static final Clock CPU = new Clock(() -> {}, () -> {}, 0);
    }

    /** Seconds per run: median of at least minRuns runs lasting at least minSeconds together, after warm-up. */
    public static double median(Runnable run, double minSeconds, int minRuns) {
        return median(run, Clock.CPU, minSeconds, minRuns);
    }

    /** The same on a device: each batch of runs (one run on the CPU) counts as one sample of the median. */
    public static double median(Runnable run, Clock clock, double minSeconds, int minRuns) {
        long warmEnd = System.nanoTime() + (long) (minSeconds * 0.5e9);
        int warm = 0;
        double last = 0;
        while (warm < 3 || System.nanoTime() < warmEnd) {
            last = batch(run, clock, 1);
            warm++;
        }
        int perBatch = clock.batchSeconds() <= 0 ? 1 : (int) Math.min(1000, Math.ceil(clock.batchSeconds() / Math.max(last, 1e-9)));
        double[] times = new double[Math.max(minRuns, 1) * 64];
        int n = 0;
        long start = System.nanoTime();
        while (n < minRuns || (System.nanoTime() - start) < minSeconds * 1e9) {
            if (n == times.length) times = Arrays.copyOf(times, n * 2);
            times[n++] = batch(run, clock, perBatch) / perBatch;
        }
        Arrays.sort(times, 0, n);
        return times[n / 2];
    }

    /** Seconds taken by {@code runs} runs and one synchronisation; then the clock's idle hook, untimed. */
    private static double batch(Runnable run, Clock clock, int runs) {
        long t = System.nanoTime();
        for (int i = 0; i < runs; i++) run.run();
        clock.sync().run();
        double s = (System.nanoTime() - t) * 1e-9;
        clock.idle().run();
        return s;
    }
}
