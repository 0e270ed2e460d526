package dev.magvit4j.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CPU backend's threads. Kernels split an index range into one chunk per thread; the
 * calling thread runs the first chunk itself. Work started from inside a chunk (on a pool
 * thread or on the caller) runs serially, so nested kernels never wait on each other or
 * oversubscribe the cores.
 *
 * <p>The pool's threads spin for a while after each loop before they sleep: a model runs its
 * kernels back to back, and waking a sleeping thread takes tens of microseconds (on the
 * ForkJoinPool this pool replaced, a loop of no work cost 34.6 µs; JMH SmallOps, RESULTS.md),
 * as long as many of the kernels themselves. A spinning thread picks the next loop up in under
 * a microsecond.
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
        if (IN_REGION.get()[0]) throw new IllegalStateException("setThreads inside a parallel loop (it would wait for that loop)");
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
            if (p.stopped) {  // replaced by setThreads since this thread read it: its workers are gone
                body.run(0, n);
                return;
            }
            Job job = p.publish(body, n, Math.min(chunks, p.workers.length + 1));
            region[0] = true;
            job.runChunk(0);  // catches what the body throws: awaitWorkers rethrows it after the workers are done
            region[0] = false;
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
        final long seq;  // the pool's count of loops: tells a worker a new loop from the last one
        final Range body;
        final int n, chunks;
        final Thread caller;
        final AtomicInteger pending;  // the workers' chunks not finished yet
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private boolean interrupted;  // the caller's interrupt flag, cleared while it sleeps and restored after

        Job(long seq, Range body, int n, int chunks) {
            this.seq = seq;
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.caller = Thread.currentThread();
            this.pending = new AtomicInteger(chunks - 1);
        }

        void runChunk(int c) {
            try {
                body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
            } catch (Throwable t) {
                if (!failure.compareAndSet(null, t)) failure.get().addSuppressed(t);
            }
        }

        /** A worker's chunk is done; the last one wakes the caller if it went to sleep. */
        void workerDone() {
            if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
        }

        /** Waits for the workers' chunks (spinning a while, then asleep), then rethrows the first failure of any chunk. */
        void awaitWorkers() {
            long deadline = System.nanoTime() + SPIN_NANOS;
            while (pending.get() > 0) {
                if (System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);  // workerDone() unparks; a stale permit only costs one more look
                    if (Thread.interrupted()) interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new RuntimeException(t);  // a checked exception thrown without being declared
        }
    }

    /**
     * threads - 1 daemon threads. A loop is published by writing its job to the volatile field;
     * worker w runs chunk w + 1 of each new job (if there is one) and counts down. A job stays
     * published until the workers it needs have counted down, so none misses a job it is needed
     * for; each job runs once per worker, told apart by its sequence number.
     */
    private static final class Pool {
        final Thread[] workers;
        final ReentrantLock dispatch = new ReentrantLock();  // one loop at a time
        volatile Job job;  // the current loop, or null between loops
        volatile boolean stopped;
        private long published;  // written under dispatch only

        Pool(int size) {
            workers = new Thread[size];
            for (int w = 0; w < size; w++) {
                int index = w;
                workers[w] = new Thread(() -> work(index), "magvit4j-cpu-" + w);
                workers[w].setDaemon(true);
                workers[w].start();
            }
        }

        Job publish(Range body, int n, int chunks) {
            Job j = new Job(++published, body, n, chunks);
            job = j;
            for (int w = 0; w < chunks - 1; w++) LockSupport.unpark(workers[w]);
            return j;
        }

        /** Stops the workers once the loop running now (if any) has finished; loops that find the pool stopped run serially. */
        void shutdown() {
            dispatch.lock();
            try {
                stopped = true;
            } finally {
                dispatch.unlock();
            }
            for (Thread t : workers) LockSupport.unpark(t);
        }

        private void work(int index) {
            IN_REGION.get()[0] = true;
            long last = 0;  // the sequence number of the last job seen (no reference: its arrays may be large)
            long deadline = System.nanoTime() + SPIN_NANOS;
            for (;;) {
                boolean stop = stopped;  // read before the job: a job published before the stop still runs
                Job j = job;
                if (j != null && j.seq != last) {
                    last = j.seq;
                    if (index + 1 < j.chunks) {
                        j.runChunk(index + 1);
                        j.workerDone();
                    }
                    j = null;
                    deadline = System.nanoTime() + SPIN_NANOS;
                } else if (stop) {
                    return;
                } else if (System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                } else {
                    Thread.interrupted();  // a body that set the flag must not turn park() into a spin
                    LockSupport.park(this);  // publish() and shutdown() unpark; a stale permit only costs one more look
                }
            }
        }
    }
}
