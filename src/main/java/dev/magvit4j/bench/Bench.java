package dev.magvit4j.bench;

import dev.magvit4j.backend.cpu.Parallel;
import dev.magvit4j.io.Json;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs workloads and reports each one's throughput beside the machine's measured ceiling
 * (FMA peak for compute-bound kernels, copy bandwidth for memory-bound ones); also the
 * regression guard, which compares those ratios with a committed baseline.
 */
public final class Bench {

    /**
     * One measured workload: time per run, throughput, the machine's ceiling for that kind of
     * work, for memory-bound work also the allocating-copy floor (NaN otherwise), and the bytes
     * one run allocates.
     */
    public record Result(Workload workload, double seconds, double throughput, double ceiling, double allocatingCopy, long allocated) {
        /** Throughput as a fraction of the machine's ceiling for this kind of work. */
        public double ratio() {
            return throughput / ceiling;
        }
    }

    private final double minSeconds;
    private final int repeat;
    private final boolean typical;
    private final PrintStream out;
    private double fmaPeak = Double.NaN;
    private final Map<Double, Double> copyBandwidth = new LinkedHashMap<>();
    private final Map<Double, Double> allocatingCopy = new LinkedHashMap<>();

    /**
     * repeat: each workload is measured that many times; the lowest median is kept (as
     * benchmarks/torch_peer.py does), or with typical the median of the medians, which is what a
     * baseline for the guard must record (a lucky run would make every later run look slow).
     */
    public Bench(double minSeconds, int repeat, boolean typical, PrintStream out) {
        if (repeat < 1) throw new IllegalArgumentException("repeat must be at least 1, got " + repeat);
        this.minSeconds = minSeconds;
        this.repeat = repeat;
        this.typical = typical;
        this.out = out;
    }

    private double ceiling(Workload w) {
        if (w.bound() == Workload.Bound.MEMORY) return copyBandwidth.computeIfAbsent(w.work(), Machine::copyGBps);
        if (Double.isNaN(fmaPeak)) fmaPeak = Machine.fmaPeakGflops();
        return fmaPeak;
    }

    public Result run(Workload w) {
        Runnable r = w.setup().get();
        double[] medians = new double[repeat];
        for (int i = 0; i < repeat; i++) medians[i] = Timing.median(r, minSeconds, 5);
        java.util.Arrays.sort(medians);
        double s = typical ? medians[repeat / 2] : medians[0];
        // The least of three runs: a run whose code is still being compiled allocates boxed vectors.
        long allocated = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long before = Machine.allocatedBytes();
            r.run();
            allocated = Math.min(allocated, Machine.allocatedBytes() - before);
        }
        double floor = w.bound() == Workload.Bound.MEMORY ? allocatingCopy.computeIfAbsent(w.work(), Machine::allocatingCopyGBps) : Double.NaN;
        return new Result(w, s, w.throughput(s), ceiling(w), floor, allocated);
    }

    public List<Result> table(List<Workload> workloads) {
        out.printf(Locale.ROOT, "magvit4j bench: %d threads, %s, Java %s%n", Parallel.threads(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, Runtime.version());
        out.printf(Locale.ROOT, "%-20s %10s %12s %14s %7s %9s  %s%n", "workload", "ms", "throughput", "machine peak", "ratio", "MiB/run", "what");
        List<Result> results = new ArrayList<>();
        for (Workload w : workloads) {
            Result r = run(w);
            results.add(r);
            String peak = w.bound() == Workload.Bound.MEMORY ? "copy" : "fma";
            out.printf(Locale.ROOT, "%-20s %10.3f %7.1f %-4s %8.1f %-5s %6.2f %9.1f  %s%n", w.name(), r.seconds * 1e3, r.throughput, w.unit(),
                    r.ceiling, peak, r.ratio(), r.allocated / 1048576.0, w.description());
        }
        for (Result r : results) {
            if (!Double.isNaN(r.allocatingCopy)) {
                out.printf(Locale.ROOT, "  %s: %.2f of the allocating copy (%.1f GB/s: fresh output array, which the JVM zeroes, plus the copy)%n",
                        r.workload().name(), r.throughput / r.allocatingCopy, r.allocatingCopy);
            }
        }
        return results;
    }

    // ------------------------------------------------------------------ the guard

    /**
     * Measures each workload of the baseline and flags it when its ratio to the machine ceiling
     * fell below baseline·(1 - margin). A flagged workload is measured again (up to `retries`
     * more times, keeping the best) before it counts, since one slow run on a shared machine
     * proves nothing. Returns the names that stayed slow.
     */
    public List<String> guard(Path baselineFile, double margin, int retries) throws IOException {
        Map<String, Object> base = Json.object(Json.object(Json.read(baselineFile), "baseline").get("workloads"), "baseline workloads");
        List<String> slow = new ArrayList<>();
        out.printf(Locale.ROOT, "%-20s %10s %10s %8s  %s%n", "workload", "baseline", "now", "change", "verdict");
        for (Map.Entry<String, Object> e : base.entrySet()) {
            double expected = ((Number) Json.object(e.getValue(), e.getKey()).get("ratio")).doubleValue();
            Workload w = Workloads.byName(e.getKey());
            double best = run(w).ratio();
            for (int i = 0; i < retries && best < expected * (1 - margin); i++) best = Math.max(best, run(w).ratio());
            boolean bad = best < expected * (1 - margin);
            if (bad) slow.add(w.name());
            out.printf(Locale.ROOT, "%-20s %10.3f %10.3f %+7.0f%%  %s%n", w.name(), expected, best, 100 * (best / expected - 1),
                    bad ? "SLOWER (more than " + Math.round(margin * 100) + "% below baseline)" : "ok");
        }
        return slow;
    }

    /** Writes one JSON object per result per line (the format of benchmarks/torch_peer.py). */
    public static void writeJson(List<Result> results, Path file) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Result r : results) {
            sb.append(String.format(Locale.ROOT, "{\"workload\": \"%s\", \"ms\": %.4f, \"%s\": %.3f, \"ratio\": %.4f, \"ceiling\": %.2f, \"allocated_mib\": %.2f, \"threads\": %d}%n",
                    r.workload().name(), r.seconds() * 1e3, r.workload().bound() == Workload.Bound.MEMORY ? "gbps" : "gflops",
                    r.throughput(), r.ratio(), r.ceiling(), r.allocated() / 1048576.0, Parallel.threads()));
        }
        Files.writeString(file, sb.toString());
    }

    /** Writes the ratios of these results as a baseline file for the guard. */
    public static void writeBaseline(List<Result> results, Path file) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n  \"note\": \"throughput / machine ceiling (FMA peak or copy bandwidth) measured in the same run; written by ./magvit4j bench --write-baseline\",\n");
        sb.append("  \"date\": \"").append(LocalDate.now()).append("\",\n");
        sb.append("  \"threads\": ").append(Parallel.threads()).append(",\n  \"workloads\": {\n");
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            sb.append(String.format(Locale.ROOT, "    \"%s\": {\"ratio\": %.4f, \"ms\": %.3f, \"throughput\": %.2f, \"unit\": \"%s\"}%s%n",
                    r.workload().name(), r.ratio(), r.seconds() * 1e3, r.throughput(), r.workload().unit(), i + 1 < results.size() ? "," : ""));
        }
        sb.append("  }\n}\n");
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, sb.toString());
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
