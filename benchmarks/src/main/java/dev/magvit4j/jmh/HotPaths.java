package dev.magvit4j.jmh;

import dev.magvit4j.bench.Workload;
import dev.magvit4j.bench.Workloads;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The workloads of {@link Workloads} under JMH: one benchmark, parameterised by workload name,
 * so the JMH numbers and {@code ./magvit4j bench} time exactly the same code. Average time per
 * run in milliseconds; throughput = work / time as defined by each workload.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmx6g"})
public class HotPaths {

    @Param({"sgemm_1024", "sgemm_2048", "conv3x3_128", "groupnorm_512", "depth_to_space_512", "lfq_entropy_4096", "attention_256"})
    public String workload;

    private Runnable run;

    @Setup
    public void setup() {
        Workload w = Workloads.byName(workload);
        run = w.setup().get();
    }

    @Benchmark
    public void run() {
        run.run();
    }
}
