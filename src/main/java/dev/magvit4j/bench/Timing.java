package dev.magvit4j.bench;

import java.util.Arrays;

/** Wall-clock timing with warm-up: the median of repeated runs. */
public final class Timing {

    private Timing() {}

    /** Seconds per run: median of at least minRuns runs lasting at least minSeconds together, after warm-up. */
    public static double median(Runnable run, double minSeconds, int minRuns) {
        long warmEnd = System.nanoTime() + (long) (minSeconds * 0.5e9);
        int warm = 0;
        while (warm < 3 || System.nanoTime() < warmEnd) {
            run.run();
            warm++;
        }
        double[] times = new double[Math.max(minRuns, 1) * 64];
        int n = 0;
        long start = System.nanoTime();
        while (n < minRuns || (System.nanoTime() - start) < minSeconds * 1e9) {
            long t = System.nanoTime();
            run.run();
            if (n == times.length) times = Arrays.copyOf(times, n * 2);
            times[n++] = (System.nanoTime() - t) * 1e-9;
        }
        Arrays.sort(times, 0, n);
        return times[n / 2];
    }
}
