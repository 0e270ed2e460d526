package dev.magvit4j.jmh;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.cuda.CudaBackend;
import dev.magvit4j.backend.cuda.CudaDevice;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The host's cost of one kernel launch on cuda:0: an axpby of 4 floats (six arguments, one a
 * Layout struct), through the FFM API or through JCuda ({@link CudaDevice#useNativeLaunch}).
 * Without a GPU, run it on the test suite's emulator with its kernels skipped, which leaves the
 * host side alone (the emulator's own checks take about 0.1 µs of it):
 *
 * <pre>
 * MAGVIT4J_EMULATOR_SKIP_KERNELS=1 ./benchmarks/jmh Launches \
 *     -jvmArgsPrepend -Dmagvit4j.cuda.driver=$PWD/target/cuda-emulator/libcuda.so.1
 * </pre>
 *
 * On a GPU the launches queue up behind the kernels, so the time is the larger of the host's
 * cost and the GPU's per-kernel time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class Launches {

    @Param({"ffm", "jcuda"})
    public String path;

    private CudaBackend gpu;
    private Tensor x, y;

    @Setup
    public void setup() {
        Device d = Device.cuda(0);
        gpu = (CudaBackend) Backends.of(d);
        CudaDevice.useNativeLaunch(path.equals("ffm"));
        x = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(d);
        y = gpu.empty(DType.FLOAT32, 4);
    }

    @Benchmark
    public void launch() {
        gpu.axpby(0.5f, x, 0.5f, y);
    }

    @TearDown
    public void drain() {
        gpu.cudaDevice().synchronize();
    }
}
