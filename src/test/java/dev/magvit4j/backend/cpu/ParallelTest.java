package dev.magvit4j.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend's loops: every index runs exactly once, in the chunks the thread count gives,
 * whether the pool's threads are spinning or asleep; nested loops run serially; loops started
 * by several threads at once all complete; a failure in any chunk reaches the caller.
 */
class ParallelTest {

    @Test
    void everyIndexRunsOnceInFixedChunks() throws Exception {
        int saved = Parallel.threads();
        try {
            for (int threads : new int[] {2, 3, 5}) {
                Parallel.setThreads(threads);
                for (int round = 0; round < 2000; round++) {
                    int n = 1 + round % 97;
                    int[] hits = new int[n];
                    List<int[]> chunks = java.util.Collections.synchronizedList(new ArrayList<>());
                    Parallel.forRange(n, 1, (from, to) -> {
                        chunks.add(new int[] {from, to});
                        for (int i = from; i < to; i++) hits[i]++;
                    });
                    int[] ones = new int[n];
                    java.util.Arrays.fill(ones, 1);
                    assertArrayEquals(ones, hits, "n " + n + ", " + threads + " threads");
                    assertEquals(Math.min(threads, n), chunks.size());
                    if (round % 500 == 0) Thread.sleep(1);  // the pool's threads go to sleep and must be woken
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void loopsInsideAChunkRunSerially() {
        int saved = Parallel.threads();
        Parallel.setThreads(3);
        try {
            nestedLoops();
            assertThrows(IllegalStateException.class, () -> Parallel.forRange(3, 1, (from, to) -> Parallel.setThreads(2)), "setThreads inside a loop");
        } finally {
            Parallel.setThreads(saved);
        }
    }

    private static void nestedLoops() {
        AtomicInteger inner = new AtomicInteger();
        Thread caller = Thread.currentThread();
        List<Thread> innerThreads = java.util.Collections.synchronizedList(new ArrayList<>());
        Parallel.forRange(64, 1, (from, to) -> {
            Thread outer = Thread.currentThread();
            Parallel.forRange(100, 1, (a, b) -> {
                innerThreads.add(Thread.currentThread());
                assertSame(outer, Thread.currentThread());
                inner.addAndGet(b - a);
            });
        });
        assertEquals(100 * Math.min(Parallel.threads(), 64), inner.get());
        assertTrue(innerThreads.contains(caller) || Parallel.threads() == 1);
    }

    @Test
    void loopsFromSeveralThreadsAtOnceAllComplete() throws Exception {
        int callers = 4, rounds = 3000;
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    for (int r = 0; r < rounds; r++) {
                        long[] sum = new long[1];
                        Parallel.forRange(1000, 10, (from, to) -> {
                            long s = 0;
                            for (int i = from; i < to; i++) s += i;
                            synchronized (sum) {
                                sum[0] += s;
                            }
                        });
                        if (sum[0] != 999L * 1000 / 2) throw new AssertionError("sum " + sum[0]);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            t.start();
            ts.add(t);
        }
        start.countDown();
        for (Thread t : ts) {
            t.join(60_000);
            assertFalse(t.isAlive(), "a caller is stuck");
        }
        assertNull(failure.get());
    }

    /** setThreads waits for a loop running on the pool it replaces: that loop's other chunk runs once. */
    @Test
    void changingTheThreadCountWaitsForTheRunningLoop() throws Exception {
        int saved = Parallel.threads();
        try {
            AtomicInteger second = new AtomicInteger();
            CountDownLatch inChunk = new CountDownLatch(1);
            Parallel.setThreads(2);
            Thread slow = new Thread(() -> Parallel.forRange(2, 1, (from, to) -> {
                if (from == 0) {
                    inChunk.countDown();
                    sleep(100);
                } else {
                    second.incrementAndGet();
                }
            }));
            slow.start();
            assertTrue(inChunk.await(10, java.util.concurrent.TimeUnit.SECONDS));
            for (int i = 0; i < 300; i++) Parallel.setThreads(2 + i % 3);
            slow.join(10_000);
            assertFalse(slow.isAlive(), "the slow caller is stuck");
            assertEquals(1, second.get(), "chunk 1's runs");
        } finally {
            Parallel.setThreads(saved);
        }
    }

    /** setThreads replaces the pool again and again while another thread runs loops: every loop completes, each chunk once. */
    @Test
    void changingTheThreadCountWhileLoopsRun() throws Exception {
        int saved = Parallel.threads();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong loops = new AtomicLong();
        Thread looper = new Thread(() -> {
            try {
                while (!done.get()) {
                    int[] hits = new int[7];
                    Parallel.forRange(7, 1, (from, to) -> {
                        for (int i = from; i < to; i++) hits[i]++;
                    });
                    for (int h : hits) if (h != 1) throw new AssertionError("a chunk ran " + h + " times");
                    loops.incrementAndGet();
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        looper.start();
        try {
            awaitLoops(loops, 1, looper);  // the looper is running loops
            long before = loops.get();
            for (int i = 0; i < 3000; i++) Parallel.setThreads(2 + i % 3);
            awaitLoops(loops, before + 100, looper);  // and still is after
        } finally {
            done.set(true);
            looper.join(10_000);
            Parallel.setThreads(saved);
        }
        assertFalse(looper.isAlive(), "the looping caller is stuck");
        assertNull(failure.get());
    }

    /** Waits (at most 10 s) until count reaches at least, or the thread ends. */
    private static void awaitLoops(AtomicLong count, long atLeast, Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (count.get() < atLeast && thread.isAlive() && System.nanoTime() < deadline) Thread.sleep(1);
        assertTrue(count.get() >= atLeast || !thread.isAlive(), "the looper made " + count.get() + " loops, not " + atLeast);
    }

    /** A body that leaves its thread interrupted does not make that pool thread spin when idle. */
    @Test
    void anInterruptedPoolThreadStillSleepsWhenIdle() throws Exception {
        int saved = Parallel.threads();
        Parallel.setThreads(2);
        try {
            AtomicReference<Thread> worker = new AtomicReference<>();
            Parallel.forRange(2, 1, (from, to) -> {
                if (from == 1) {
                    worker.set(Thread.currentThread());
                    Thread.currentThread().interrupt();
                }
            });
            Thread.sleep(50);  // past its spin: asleep
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            long before = mx.getThreadCpuTime(worker.get().threadId());
            Thread.sleep(300);
            long used = mx.getThreadCpuTime(worker.get().threadId()) - before;
            assertTrue(used < 50_000_000L, "the idle pool thread used " + used / 1_000_000 + " ms of CPU in 300 ms");
        } finally {
            Parallel.setThreads(saved);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aFailureInAnyChunkReachesTheCaller() {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(3);
            for (int failing = 0; failing < 3; failing++) {
                int chunk = failing;
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(3, 1, (from, to) -> {
                    if (from == chunk) throw new IllegalStateException("chunk " + chunk);
                }));
                assertEquals("chunk " + chunk, e.getMessage());
                int[] hits = new int[30];
                Parallel.forRange(30, 1, (from, to) -> {
                    for (int i = from; i < to; i++) hits[i]++;
                });
                for (int h : hits) assertEquals(1, h, "the pool works after a failure");
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
