package dev.magvit4j.bench;

import dev.magvit4j.backend.cpu.Parallel;
import dev.magvit4j.backend.cuda.CudaMatmul;
import dev.magvit4j.backend.cuda.KernelProfile;
import dev.magvit4j.io.Json;
import dev.magvit4j.tensor.Device;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs workloads and reports each one's throughput beside the machine's measured ceiling
 * (FMA peak for compute-bound kernels, copy bandwidth for memory-bound ones); also the
 * regression guard, which compares those ratios with a committed baseline. On a GPU the
 * workloads run on the device, timed by its clock ({@link Timing.Clock}); memory-bound ones are
 * compared with the device's measured copy bandwidth, compute-bound ones have no ceiling (NaN).
 */
public final class Bench {

    /**
     * One measured workload: time per run, throughput, the machine's ceiling for that kind of
     * work, for memory-bound work on the CPU also the allocating-copy floor (NaN otherwise), the
     * bytes of Java heap one run allocates (-1 on a GPU, where that says nothing), and on a GPU
     * the time of each kernel in one profiled run, longest first (empty on the CPU).
     */
    public record Result(Workload workload, double seconds, double throughput, double ceiling, double allocatingCopy, long allocated,
                         List<KernelProfile.Entry> kernels) {
        /** Throughput as a fraction of the machine's ceiling for this kind of work. */
        public double ratio() {
            return throughput / ceiling;
        }
    }

    private final double minSeconds;
    private final int repeat;
    private final boolean typical;
    private final Device device;
    private final Timing.Clock clock;
    private final PrintStream out;
    private final List<String> failed = new ArrayList<>();
    private double fmaPeak = Double.NaN;
    private double deviceCopy = Double.NaN;
    private final Map<Double, Double> copyBandwidth = new LinkedHashMap<>();
    private final Map<Double, Double> allocatingCopy = new LinkedHashMap<>();

    /**
     * repeat: each workload is measured that many times; the lowest median is kept (as
     * benchmarks/torch_peer.py does), or with typical the median of the medians, which is what a
     * baseline for the guard must record (a lucky run would make every later run look slow).
     * The workloads run on the given device.
     */
    public Bench(double minSeconds, int repeat, boolean typical, Device device, PrintStream out) {
        if (repeat < 1) throw new IllegalArgumentException("repeat must be at least 1, got " + repeat);
        this.minSeconds = minSeconds;
        this.repeat = repeat;
        this.typical = typical;
        this.device = device;
        this.clock = device.isCpu() ? Timing.Clock.CPU : Gpu.clock(device);
        this.out = out;
    }

    private double ceiling(Workload w) {
        if (!device.isCpu()) {
            if (w.bound() != Workload.Bound.MEMORY) return Double.NaN;
            if (Double.isNaN(deviceCopy)) deviceCopy = Gpu.copyGBps(device);
            return deviceCopy;
        }
        if (w.bound() == Workload.Bound.MEMORY) return copyBandwidth.computeIfAbsent(w.work(), Machine::copyGBps);
        if (Double.isNaN(fmaPeak)) fmaPeak = Machine.fmaPeakGflops();
        return fmaPeak;
    }

    public Result run(Workload w) {
        Runnable r = w.setupOn().apply(device);
        double[] medians = new double[repeat];
        for (int i = 0; i < repeat; i++) medians[i] = Timing.median(r, clock, minSeconds, 5);
        java.util.Arrays.sort(medians);
        double s = typical ? medians[repeat / 2] : medians[0];
        if (!device.isCpu()) return new Result(w, s, w.throughput(s), ceiling(w), Double.NaN, -1, Gpu.profile(device, r));
        // The least of three runs: a run whose code is still being compiled allocates boxed vectors.
        long allocated = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long before = Machine.allocatedBytes();
            r.run();
            allocated = Math.min(allocated, Machine.allocatedBytes() - before);
        }
        double floor = w.bound() == Workload.Bound.MEMORY ? allocatingCopy.computeIfAbsent(w.work(), Machine::allocatingCopyGBps) : Double.NaN;
        return new Result(w, s, w.throughput(s), ceiling(w), floor, allocated, List.of());
    }

    /**
     * Measures the workloads and prints a table; a workload that fails is reported in one line
     * and the others still run ({@link #failed()}). With a json file, each result is written to
     * it as soon as it is measured (one JSON object per line), so a run cut short keeps its results.
     */
    public List<Result> table(List<Workload> workloads, Path json) throws IOException {
        if (json != null) Files.writeString(json, "");
        out.printf(Locale.ROOT, "magvit4j bench on %s: %d threads, %s, Java %s%n", device.isCpu() ? "the CPU" : Gpu.describe(device) + ", matmul precision " + precision(),
                Parallel.threads(), jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, Runtime.version());
        out.printf(Locale.ROOT, "%-22s %10s %12s %14s %7s %9s  %s%n", "workload", "ms", "throughput", "machine peak", "ratio", "MiB/run", "what");
        List<Result> results = new ArrayList<>();
        for (Workload w : workloads) {
            Result r;
            try {
                r = run(w);
            } catch (RuntimeException e) {
                failed.add(w.name());
                out.printf(Locale.ROOT, "%-22s failed: %s%n", w.name(), e);
                continue;
            }
            results.add(r);
            if (json != null) Files.writeString(json, json(r) + "\n", StandardOpenOption.APPEND);
            String peak = w.bound() == Workload.Bound.MEMORY ? "copy" : device.isCpu() ? "fma" : "";
            out.printf(Locale.ROOT, "%-22s %10.3f %7.1f %-4s %8s %-5s %6s %9s  %s%n", w.name(), r.seconds * 1e3, r.throughput, w.unit(),
                    number(r.ceiling, "%.1f"), peak, number(r.ratio(), "%.2f"), r.allocated < 0 ? "-" : number(r.allocated / 1048576.0, "%.1f"), w.description());
        }
        for (Result r : results) {
            if (!Double.isNaN(r.allocatingCopy)) {
                out.printf(Locale.ROOT, "  %s: %.2f of the allocating copy (%.1f GB/s: fresh output array, which the JVM zeroes, plus the copy)%n",
                        r.workload().name(), r.throughput / r.allocatingCopy, r.allocatingCopy);
            }
        }
        if (!Double.isNaN(deviceCopy)) out.printf(Locale.ROOT, "device copy bandwidth: %.1f GB/s (256 MiB device to device, read + write)%n", deviceCopy);
        if (!device.isCpu()) {
            out.println("where the GPU time goes (one run with an event pair around each launch; share of the kernels' summed time):");
            for (Result r : results) out.printf(Locale.ROOT, "  %-20s %s%n", r.workload().name(), topKernels(r, 5));
        }
        return results;
    }

    /** The names of the workloads that failed in {@link #table}. */
    public List<String> failed() {
        return failed;
    }

    /** "n launches, x ms: a 61% (4x), b 20% (1x), ..." for the n longest kernels of a profiled run. */
    private static String topKernels(Result r, int n) {
        double total = r.kernels().stream().mapToDouble(KernelProfile.Entry::ms).sum();
        int launches = r.kernels().stream().mapToInt(KernelProfile.Entry::launches).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%d launch%s, %.3f ms:", launches, launches == 1 ? "" : "es", total));
        for (KernelProfile.Entry e : r.kernels().subList(0, Math.min(n, r.kernels().size()))) {
            sb.append(String.format(Locale.ROOT, " %s %.0f%% (%dx)", e.kernel().substring(e.kernel().indexOf('/') + 1), 100 * e.ms() / total, e.launches()));
        }
        return sb.toString();
    }

    private String precision() {
        return CudaMatmul.precision().name().toLowerCase(Locale.ROOT);
    }

    private static String number(double v, String format) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, format, v);
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

    /**
     * One result as a JSON object (the format of benchmarks/torch_peer.py and torch_gpu_peer.py):
     * a ratio or ceiling that does not apply is null; on a GPU also the matmul precision.
     */
    public String json(Result r) {
        Workload w = r.workload();
        return String.format(Locale.ROOT, "{\"workload\": \"%s\", \"ms\": %.4f, \"%s\": %.3f, \"ratio\": %s, \"ceiling\": %s, \"allocated_mib\": %s, \"threads\": %d, \"device\": \"%s\"%s}",
                w.name(), r.seconds() * 1e3, w.bound() == Workload.Bound.MEMORY ? "gbps" : "gflops", r.throughput(), jsonNumber(r.ratio(), "%.4f"),
                jsonNumber(r.ceiling(), "%.2f"), r.allocated() < 0 ? "null" : jsonNumber(r.allocated() / 1048576.0, "%.2f"), Parallel.threads(), device,
                device.isCpu() ? "" : ", \"precision\": \"" + precision() + "\", \"kernels\": " + kernelsJson(r));
    }

    /** The profiled kernels as a JSON array: [{"kernel": "module/name", "launches": n, "ms": t}, ...]. */
    private static String kernelsJson(Result r) {
        StringBuilder sb = new StringBuilder("[");
        for (KernelProfile.Entry e : r.kernels()) {
            if (sb.length() > 1) sb.append(", ");
            sb.append(String.format(Locale.ROOT, "{\"kernel\": \"%s\", \"launches\": %d, \"ms\": %.4f}", e.kernel(), e.launches(), e.ms()));
        }
        return sb.append(']').toString();
    }

    private static String jsonNumber(double v, String format) {
        return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, format, v);
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
