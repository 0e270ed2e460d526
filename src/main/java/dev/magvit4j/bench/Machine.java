package dev.magvit4j.bench;

import dev.magvit4j.backend.cpu.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's measured ceilings, taken in the same run as the workloads so that ratios to
 * them survive a noisy, shared machine: vector FMA throughput of all threads (GFLOP/s) and
 * multi-threaded copy bandwidth for a given number of bytes moved (GB/s, read + write).
 */
public final class Machine {

    private Machine() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static volatile float sink;

    /** Peak float32 GFLOP/s: every thread runs 12 independent vector FMA chains (enough to hide the latency). */
    public static double fmaPeakGflops() {
        int iters = 4_000_000, threads = Parallel.threads();
        Runnable run = () -> Parallel.forRange(threads, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) sink += fmaChains(iters);
        });
        return 2.0 * 12 * S.length() * (double) iters * threads / fastest(run) / 1e9;
    }

    private static float fmaChains(int iters) {
        FloatVector a = FloatVector.broadcast(S, 0.999f), b = FloatVector.broadcast(S, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(S, 1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iters; i++) {
            c0 = c0.fma(a, b); c1 = c1.fma(a, b); c2 = c2.fma(a, b); c3 = c3.fma(a, b);
            c4 = c4.fma(a, b); c5 = c5.fma(a, b); c6 = c6.fma(a, b); c7 = c7.fma(a, b);
            c8 = c8.fma(a, b); c9 = c9.fma(a, b); c10 = c10.fma(a, b); c11 = c11.fma(a, b);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /**
     * GB/s of the engine's own tensor copy for {@code bytes} moved: a fresh output array (which
     * the JVM zeroes) plus the parallel copy. No op that returns a new tensor can beat it.
     */
    public static double allocatingCopyGBps(double bytes) {
        int n = copiedFloats(bytes);
        float[] src = new float[n];
        java.util.Arrays.fill(src, 1f);
        Runnable run = () -> {
            float[] dst = new float[n];
            Parallel.forRange(n, 1 << 16, (i0, i1) -> System.arraycopy(src, i0, dst, i0, i1 - i0));
            sink += dst[n - 1];
        };
        return 8.0 * n / fastest(run) / 1e9;
    }

    /**
     * Seconds per run of a ceiling measurement: the best of three medians. A ceiling is what the
     * machine can do, so on a shared machine the least disturbed measurement is the right one.
     */
    private static double fastest(Runnable run) {
        return fastest(run, Timing.Clock.CPU);
    }

    /** The same for runs timed by a device's clock. */
    static double fastest(Runnable run, Timing.Clock clock) {
        double best = Double.POSITIVE_INFINITY;
        for (int i = 0; i < 3; i++) best = Math.min(best, Timing.median(run, clock, 0.3, 5));
        return best;
    }

    /** Bytes allocated so far by all live threads (the caller's and the kernel pool's). */
    public static long allocatedBytes() {
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long total = 0;
        for (long b : bean.getThreadAllocatedBytes(bean.getAllThreadIds())) total += Math.max(b, 0);
        return total;
    }

    /** GB/s of a parallel copy moving {@code bytes} in all (half read, half written), into a preallocated array. */
    public static double copyGBps(double bytes) {
        int n = copiedFloats(bytes);
        float[] src = new float[n], dst = new float[n];
        java.util.Arrays.fill(src, 1f);
        Runnable run = () -> Parallel.forRange(n, 1 << 16, (i0, i1) -> System.arraycopy(src, i0, dst, i0, i1 - i0));
        return 8.0 * n / fastest(run) / 1e9;
    }

    /**
     * Floats per array for a copy moving the given bytes (read + write), at most 256 MiB moved:
     * far beyond the caches the bandwidth no longer depends on the size (a model's weights are
     * gigabytes, more than one array can hold).
     */
    private static int copiedFloats(double bytes) {
        return (int) (Math.min(bytes, 256.0 * 1024 * 1024) / 8);
    }
}
