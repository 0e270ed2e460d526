package dev.magvit4j.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;

/**
 * The CPU backend's threads. Kernels split an index range into one chunk per thread; the
 * calling thread runs the first chunk itself. Work started from inside a chunk (on a pool
 * thread or on the caller) runs serially, so nested kernels never wait on each other or
 * oversubscribe the cores.
 *
 * <p>Thread count: {@code -Dmagvit4j.threads=N}, {@link #setThreads}, or all available cores.
 */
public final class Parallel {

    private Parallel() {}

    /** Body of a parallel loop over [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    private static volatile int threads = Integer.getInteger("magvit4j.threads", Runtime.getRuntime().availableProcessors());
    private static volatile ForkJoinPool pool;

    public static int threads() {
        return threads;
    }

    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("thread count must be at least 1, got " + n);
        if (n != threads && pool != null) {
            pool.shutdown();
            pool = null;
        }
        threads = n;
    }

    private static ForkJoinPool pool() {
        ForkJoinPool p = pool;
        if (p == null) {
            synchronized (Parallel.class) {
                if (pool == null) {
                    pool = new ForkJoinPool(Math.max(1, threads - 1), fjp -> {
                        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(fjp);
                        t.setName("magvit4j-cpu-" + t.getPoolIndex());
                        t.setDaemon(true);
                        return t;
                    }, null, false);
                }
                p = pool;
            }
        }
        return p;
    }

    /** Set while the calling thread runs its own chunk, so kernels it calls run serially too. */
    private static final ThreadLocal<boolean[]> IN_REGION = ThreadLocal.withInitial(() -> new boolean[1]);

    private static boolean inRegion() {
        return (Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == pool) || IN_REGION.get()[0];
    }

    /**
     * Runs body over [0, n) in up to {@link #threads()} contiguous chunks of at least
     * {@code grain} items (serially when n is small or when already inside a parallel loop).
     */
    public static void forRange(int n, int grain, Range body) {
        int chunks = (int) Math.min(threads, (n + (long) Math.max(grain, 1) - 1) / Math.max(grain, 1));
        if (chunks <= 1 || inRegion()) {
            if (n > 0) body.run(0, n);
            return;
        }
        ForkJoinPool p = pool();
        @SuppressWarnings("unchecked")
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[chunks - 1];
        for (int c = 1; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            tasks[c - 1] = p.submit(() -> body.run(from, to));
        }
        RuntimeException failure = null;
        boolean[] region = IN_REGION.get();
        region[0] = true;
        try {
            body.run(0, (int) ((long) n / chunks));
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            region[0] = false;
        }
        for (ForkJoinTask<?> t : tasks) {
            try {
                t.join();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
            }
        }
        if (failure != null) throw failure;
    }

    /** Runs body(i) for every i in [0, n), spreading the i over the threads. */
    public static void forEach(int n, java.util.function.IntConsumer body) {
        forRange(n, 1, (from, to) -> {
            for (int i = from; i < to; i++) body.accept(i);
        });
    }
}
