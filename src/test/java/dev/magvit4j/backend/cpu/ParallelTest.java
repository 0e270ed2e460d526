package dev.magvit4j.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
        for (Thread t : ts) t.join(60_000);
        assertNull(failure.get());
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
