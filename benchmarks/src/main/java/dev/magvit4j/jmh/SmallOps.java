package dev.magvit4j.jmh;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.cpu.Parallel;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The fixed cost of the CPU backend's parallel loops, which kernels of a few microseconds pay
 * each time (AR sampling runs hundreds per position): an empty loop over the threads, and two
 * small kernels run back to back, a softmax of 8 rows of 4096 (a guided post-token draw at
 * batch 8) and an affine map of 32K floats. Microseconds per call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmx2g"})
public class SmallOps {

    private final Backend cpu = Backends.cpu();
    private Tensor rows, flat;
    private final int[] sink = new int[64];

    @Setup
    public void setup() {
        Generator g = new Generator(1);
        rows = Tensor.randn(g, 8, 4096);
        flat = Tensor.randn(g, 32768);
    }

    @Benchmark
    public void emptyLoop() {
        Parallel.forRange(Parallel.threads(), 1, (from, to) -> sink[from % sink.length]++);
    }

    @Benchmark
    public Tensor softmax8x4096() {
        return cpu.softmax(rows, false);
    }

    @Benchmark
    public Tensor affine32k() {
        return cpu.affine(flat, 0.5f, 1f);
    }
}
