package dev.magvit4j.bench;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.cuda.CudaBackend;
import dev.magvit4j.backend.cuda.CudaDevice;
import dev.magvit4j.backend.cuda.KernelProfile;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;

import java.util.List;

/**
 * What the benchmarks need from a CUDA device: its clock and its measured copy bandwidth. Only
 * called for CUDA devices, so a CPU run never loads the CUDA classes.
 */
final class Gpu {

    private Gpu() {}

    /** Timed batches of runs last about this long (a synchronisation costs some microseconds). */
    private static final double BATCH_SECONDS = 2e-3;

    /**
     * The device's clock: a batch ends by waiting for the stream. Between batches, a collection
     * runs when the driver's free memory fell below a quarter and below what it was at the last
     * one: device blocks go back to the allocator's cache only when the collector finds their
     * tensors unreachable, and it does not see device memory, so without this the outputs of
     * thousands of timed runs would fill the device and later runs would pay for fresh
     * allocations instead of reusing cached blocks.
     */
    static Timing.Clock clock(Device device) {
        CudaDevice cuda = cudaDevice(device);
        long[] lastCollection = {Long.MAX_VALUE};
        Runnable idle = () -> {
            long[] freeTotal = cuda.memoryInfo();
            if (freeTotal[0] < freeTotal[1] / 4 && freeTotal[0] < lastCollection[0]) {
                System.gc();
                lastCollection[0] = freeTotal[0];
            }
        };
        return new Timing.Clock(cuda::synchronize, idle, BATCH_SECONDS);
    }

    /** GB/s of a device-to-device copy of 256 MiB (read + write: 512 MiB moved), the best of three medians. */
    static double copyGBps(Device device) {
        Backend be = Backends.of(device);
        int n = 64 << 20;
        Tensor src = be.empty(DType.FLOAT32, n), dst = be.empty(DType.FLOAT32, n);
        be.fill(src, 1);
        return 8.0 * n / Machine.fastest(() -> be.copy(src, dst), clock(device)) / 1e9;
    }

    /** The GPU time of each kernel of one run of r, longest first. */
    static List<KernelProfile.Entry> profile(Device device, Runnable r) {
        return cudaDevice(device).profile(r);
    }

    /** "cuda:0 (NVIDIA H100 ..., 81000 MiB, sm_90, tensor-core GEMM on wgmma)". */
    static String describe(Device device) {
        return cudaDevice(device).toString();
    }

    private static CudaDevice cudaDevice(Device device) {
        return ((CudaBackend) Backends.of(device)).cudaDevice();
    }
}
