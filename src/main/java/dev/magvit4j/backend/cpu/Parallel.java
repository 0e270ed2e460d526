package dev.magvit4j.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CPU backend's threads. Kernels split an index range into one chunk per thread; the
 * calling thread runs the first chunk itself. Work started from inside a chunk (on a pool
 * thread or on the caller) runs serially, so nested kernels never wait on each other or
 * oversubscribe the cores.
 *
 * <p>The pool's threads spin for a while after each loop before they sleep: a model runs its
 * kernels back to back, and waking a sleeping thread takes 10-30 µs here (measured with a
 * ForkJoinPool: a two-chunk loop of no work cost 12-33 µs), as long as many of the kernels
 * themselves. A spinning thread picks the next loop up in well under a microsecond.
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

    /** How long an idle pool thread spins for the next loop before it parks. */
    private static final long SPIN_NANOS = 50_000;

    private static volatile int threads = Integer.getInteger("magvit4j.threads", Runtime.getRuntime().availableProcessors());
    private static volatile Pool pool;

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

    private static Pool pool() {
        Pool p = pool;
        if (p == null) {
            synchronized (Parallel.class) {
                if (pool == null) pool = new Pool(Math.max(1, threads - 1));
                p = pool;
            }
        }
        return p;
    }

    /** Set on the pool's threads, and while the calling thread runs its own chunk, so kernels called from a chunk run serially. */
    private static final ThreadLocal<boolean[]> IN_REGION = ThreadLocal.withInitial(() -> new boolean[1]);

    /**
     * Runs body over [0, n) in up to {@link #threads()} contiguous chunks of at least
     * {@code grain} items (serially when n is small, when already inside a parallel loop, or
     * while another thread's loop holds the pool).
     */
    public static void forRange(int n, int grain, Range body) {
        int chunks = (int) Math.min(threads, (n + (long) Math.max(grain, 1) - 1) / Math.max(grain, 1));
        boolean[] region = IN_REGION.get();
        if (chunks <= 1 || region[0]) {
            if (n > 0) body.run(0, n);
            return;
        }
        Pool p = pool();
        if (!p.dispatch.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            Job job = new Job(body, n, Math.min(chunks, p.workers.length + 1));
            p.publish(job);
            region[0] = true;
            try {
                job.runChunk(0);
            } finally {
                region[0] = false;
            }
            job.awaitWorkers();
        } finally {
            p.job = null;  // the body's arrays are not kept alive until the next loop
            p.dispatch.unlock();
        }
    }

    /** Runs body(i) for every i in [0, n), spreading the i over the threads. */
    public static void forEach(int n, java.util.function.IntConsumer body) {
        forRange(n, 1, (from, to) -> {
            for (int i = from; i < to; i++) body.accept(i);
        });
    }

    /** One parallel loop: chunk c covers [n·c/chunks, n·(c+1)/chunks); chunk 0 is the caller's. */
    private static final class Job {
        final Range body;
        final int n, chunks;
        final AtomicInteger pending;  // the workers' chunks not finished yet
        volatile Throwable failure;

        Job(Range body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.pending = new AtomicInteger(chunks - 1);
        }

        void runChunk(int c) {
            try {
                body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
            } catch (Throwable t) {
                if (failure == null) failure = t;
            }
        }

        /** Waits for the workers' chunks, then rethrows the first failure of any chunk. */
        void awaitWorkers() {
            for (int spins = 0; pending.get() > 0; spins++) {
                if (spins < 1 << 16) Thread.onSpinWait();
                else Thread.yield();  // a worker lost its core: let it have one
            }
            Throwable t = failure;
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
        }
    }

    /**
     * threads - 1 daemon threads. A loop is published by writing its job to the volatile field;
     * worker w runs chunk w + 1 of each new job (if there is one) and counts down. A worker
     * needed by a job has run its chunk before the next job can be published (the caller waits
     * for it), so a worker never misses a job it is needed for.
     */
    private static final class Pool {
        final Thread[] workers;
        final ReentrantLock dispatch = new ReentrantLock();  // one loop at a time
        volatile Job job;  // the current loop, or null between loops
        private volatile boolean stopped;

        Pool(int size) {
            workers = new Thread[size];
            for (int w = 0; w < size; w++) {
                int index = w;
                workers[w] = new Thread(() -> work(index), "magvit4j-cpu-" + w);
                workers[w].setDaemon(true);
                workers[w].start();
            }
        }

        void publish(Job j) {
            job = j;
            for (int w = 0; w < j.chunks - 1; w++) LockSupport.unpark(workers[w]);
        }

        void shutdown() {
            stopped = true;
            for (Thread t : workers) LockSupport.unpark(t);
        }

        private void work(int index) {
            IN_REGION.get()[0] = true;
            Job last = null;
            while (!stopped) {
                Job j;
                long deadline = System.nanoTime() + SPIN_NANOS;
                while ((j = job) == last && !stopped) {
                    if (System.nanoTime() < deadline) Thread.onSpinWait();
                    else LockSupport.park(this);  // publish() unparks; a stale permit only costs one more look
                }
                last = j;
                if (j != null && index + 1 < j.chunks) {
                    j.runChunk(index + 1);
                    j.pending.decrementAndGet();
                }
            }
        }
    }
}
