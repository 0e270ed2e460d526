package dev.magvit4j.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

/**
 * A caching device allocator. cuMemAlloc and cuMemFree synchronise the device and cost tens of
 * microseconds, far more than most kernels, so freed blocks are kept by size and handed out
 * again. Sizes are rounded (512 B steps below 1 MiB, 1 MiB steps above) so blocks fit many
 * requests; a cached block is reused for a request at least half its size.
 *
 * <p>Blocks come back when the garbage collector finds their tensor unreachable (a Cleaner;
 * see {@link CudaStorage}), or at once for the temporaries a kernel wrapper releases itself
 * (split-K partial products, Winograd's transforms, norm statistics). The collector does not see
 * device memory, so when an allocation fails, a collection is asked for and the cache released
 * before giving up.
 *
 * <p>Reuse is safe without events because every kernel runs on the device's one stream, in
 * order: work queued on a block before it was freed finishes before work queued after.
 *
 * <p>{@code -Dmagvit4j.cuda.poison=true} fills every new block with 0xFF bytes (NaN floats,
 * -1 integers), so an output element a kernel forgets to write shows up in the tests.
 */
final class CudaAllocator {

    static final boolean POISON = Boolean.getBoolean("magvit4j.cuda.poison");
    /** After an allocation fails: polls (10 ms each) without a block coming back after which the Cleaner counts as caught up, and the most polls (2 s). */
    private static final int QUIET = 3, MAX_POLLS = 200;

    private final CudaDevice device;
    private final TreeMap<Long, ArrayDeque<CUdeviceptr>> cache = new TreeMap<>();
    private long cachedBytes;
    private long liveBytes;
    private long peakLiveBytes;

    CudaAllocator(CudaDevice device) {
        this.device = device;
    }

    static long roundUp(long bytes) {
        long b = Math.max(bytes, 1);
        return b < (1 << 20) ? (b + 511) & ~511L : (b + (1 << 20) - 1) & ~((1L << 20) - 1);
    }

    /** A device block and its (rounded) size in bytes. */
    record Block(CUdeviceptr pointer, long size) {}

    /** A block of at least {@code bytes}. */
    synchronized Block allocate(long bytes) {
        long size = roundUp(bytes);
        Block b = takeCached(size);
        if (b == null) b = allocateFresh(size);
        liveBytes += b.size();
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        if (POISON) device.memset(b.pointer(), b.size(), (byte) 0xFF);
        return b;
    }

    /** Returns a block to the cache (called by the Cleaner thread, or directly). */
    synchronized void release(Block b) {
        liveBytes -= b.size();
        cache.computeIfAbsent(b.size(), k -> new ArrayDeque<>()).push(b.pointer());
        cachedBytes += b.size();
    }

    private Block takeCached(long size) {
        Map.Entry<Long, ArrayDeque<CUdeviceptr>> e = cache.ceilingEntry(size);
        if (e == null || e.getKey() > 2 * size) return null;
        CUdeviceptr p = e.getValue().pop();
        if (e.getValue().isEmpty()) cache.remove(e.getKey());
        cachedBytes -= e.getKey();
        return new Block(p, e.getKey());
    }

    private Block allocateFresh(long size) {
        device.bind();
        CUdeviceptr p = new CUdeviceptr();
        int rc = cuMemAlloc(p, size);
        for (int round = 0; round < 2 && rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY; round++) {
            // First what the collector can find: a block it returns may fit as it is.
            collectGarbage();
            Block cached = takeCached(size);
            if (cached != null) return cached;
            // Then give the cache back to the driver and try again.
            emptyCache();
            rc = cuMemAlloc(p, size);
        }
        if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            throw new CudaError("out of GPU memory on cuda:" + device.index + " allocating " + mib(size) + " (live tensors hold " + mib(liveBytes)
                    + " of " + mib(device.totalMemory) + "); use a smaller batch or image size");
        }
        Cuda.check(rc, "cuMemAlloc(" + size + " bytes)");
        return new Block(p, size);
    }

    /** Frees every cached block back to the driver. */
    synchronized void emptyCache() {
        device.bind();
        for (ArrayDeque<CUdeviceptr> q : cache.values()) {
            for (CUdeviceptr p : q) Cuda.check(cuMemFree(p), "cuMemFree");
        }
        cache.clear();
        cachedBytes = 0;
    }

    /**
     * Runs the collector and waits while the Cleaner returns the blocks of unreachable tensors:
     * until nothing has come back for QUIET polls in a row (it has caught up), at most 2 s. The
     * first block back is not the signal: a collection can free thousands of tensors, and an
     * allocation retried after only some of them are back may fail for no reason.
     */
    private void collectGarbage() {
        System.gc();
        long last = liveBytes;
        for (int i = 0, quiet = 0; i < MAX_POLLS && quiet < QUIET; i++) {
            try {
                wait(10);  // Cleaner actions run on their own thread and need this lock: it is released while waiting
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            quiet = liveBytes == last ? quiet + 1 : 0;
            last = liveBytes;
        }
    }

    synchronized long liveBytes() {
        return liveBytes;
    }

    synchronized long peakLiveBytes() {
        return peakLiveBytes;
    }

    synchronized long cachedBytes() {
        return cachedBytes;
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
