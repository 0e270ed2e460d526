package dev.magvit4j.bench;

import dev.magvit4j.tensor.Device;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One benchmarked hot path: a name, what it computes, how much work one run does (floating
 * point operations for compute-bound kernels, bytes that must move for memory-bound ones), and
 * a setup that builds the inputs on a device and returns the runnable that is timed.
 */
public record Workload(String name, String description, Bound bound, double work, Function<Device, Runnable> setupOn) {

    /** The setup on the CPU (what the JMH benchmarks time). */
    public Supplier<Runnable> setup() {
        return () -> setupOn.apply(Device.CPU);
    }

    /** What limits the kernel, and so what its throughput is compared with. */
    public enum Bound {
        /** Work is flops; compared with the machine's measured vector FMA peak (on a GPU, shown alone). */
        COMPUTE,
        /** Work is bytes; compared with the machine's measured copy bandwidth for that many bytes (on a GPU, the device's). */
        MEMORY,
        /** Work is flops, but the kernel's point is a different algorithm (compared with the reference formulation). */
        ALGORITHM
    }

    /** Throughput of one run taking the given seconds: GFLOP/s or GB/s. */
    public double throughput(double seconds) {
        return work / seconds / 1e9;
    }

    public String unit() {
        return bound == Bound.MEMORY ? "GB/s" : "GFLOP/s";
    }
}
