package dev.magvit4j.cli;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.cpu.Parallel;
import dev.magvit4j.backend.cuda.Cuda;
import dev.magvit4j.backend.cuda.CudaBackend;
import dev.magvit4j.backend.cuda.CudaError;
import dev.magvit4j.backend.cuda.CudaMatmul;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.bench.Bench;
import dev.magvit4j.bench.Workload;
import dev.magvit4j.bench.Workloads;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** {@code ./magvit4j COMMAND [options]}: the command-line entry point. */
public final class Main {

    private Main() {}

    private static final String USAGE = """
            usage: ./magvit4j COMMAND [options]

            commands:
              demo [--out demo] [--quick] [--device D]
                    trains a small tokenizer and a small AR model on built-in procedural images
                    (no download, ~5 minutes on 2 cores) and writes reconstructions, samples,
                    plots and a summary to --out; run again to resume; --quick: seconds, tiny
              train-tokenizer (--data FOLDER | --builtin N) [--out DIR] [--steps N]
                    trains the tokenizer (GAN, the released recipe; see README "Train")
              train-ar (--tokens FILE | --data FOLDER | --builtin N) [--tokenizer CKPT] [--out DIR] [--steps N]
                    trains the AR model on a token file, or on images the tokenizer encodes
                    training options:
                      --config FILE.json   recipe settings; any setting also as a flag
                                           (--batch-size 8, --lr 1e-4, --ch-mult 1,2,2, ...)
                      --checkpoint-every N --keep K --pictures-every N   (default steps/10, 3)
                      --lpips-vgg F --lpips-lin F   LPIPS weights (else the perceptual loss is off)
                      --held-out FOLDER    images for the reconstruction pictures
                      --device D           where to train: cpu (default), cuda, cuda:N or auto
                    a second run with the same --out resumes from the newest intact checkpoint
              encode IMAGE|FOLDER... --checkpoint CKPT [--out tokens.safetensors]
                    images to Open-MAGVIT2 tokens (18-bit indices and 6 + 12-bit sub-tokens);
                    folders are searched for PNG and JPEG files
              decode TOKENS --checkpoint CKPT [--out DIR]
                    a token file back to PNG images
              reconstruct IMAGE|FOLDER... --checkpoint CKPT [--out DIR]
                    encode and decode; writes PNGs and prints each image's PSNR and images/s
                    tokenizer options:
                      --resolution N   resize the shorter side to N and center-crop to N x N, as
                                       the reference's evaluation does (default 16 x the
                                       downsampling factor: 128 or 256 for the released models)
                      --no-crop        use images as they are (sizes must be multiples of the factor)
                      --batch N        images per batch (default 8)
                      --live-weights   the checkpoint's live weights instead of its EMA copy
                      --rounding truncate|nearest   8-bit conversion of outputs (default truncate:
                                       the same bytes as the reference's PNGs)
                      --threads N      CPU threads (default: all cores)
                      --device D       cpu (default), cuda, cuda:N, or auto (cuda:0 when a usable
                                       GPU is found, else cpu)
              generate --checkpoint AR_CKPT (--classes 1,207,360 | --random N) [--out DIR]
                    class-conditional images from an AR checkpoint: writes one PNG per image and
                    grid.png, showing image tokens/s while it samples
                    generate options:
                      --tokenizer CKPT     the tokenizer, when the AR checkpoint does not hold it
                                           (under first_stage_model.)
                      --per-class K        images per class (default 1)
                      --seed S             image i samples with seed S + i (default 0), so any image
                                           of a run can be made again alone
                      --batch N            images sampled together (default 8)
                      --temperature T[,T2] --top-k K[,K2] --top-p P[,P2] --guidance G[,G2]
                                           per sub-token (pre,post); defaults: the released settings
                                           of the model's preset (B: temperature 1.0, guidance 1.9/2.0);
                                           temperature 0 is argmax, guidance 1 turns guidance off
                      --preset B|L|XL      whose released settings are the defaults (default: by width)
                      --heads H            attention heads (not visible in the weights; default dim/64)
                      --columns N          grid columns (default: a square grid)
                      --threads N, --device D, --rounding truncate|nearest, --live-weights   as above
              init --preset 128|256|B|L|XL --out FILE.safetensors [--seed N]
                    writes a released tokenizer (128, 256) or AR transformer (B, L, XL)
                    architecture with random weights (for trying the commands and for
                    benchmarks without a download)
              bench [--only NAMES] [--device D] [--precision P] [--threads N] [--seconds S] [--repeat N]
                    times the engine's hot paths and prints each beside the machine's measured
                    peak (vector FMA GFLOP/s, or copy GB/s for memory-bound kernels); with
                    --repeat N each workload is measured N times and the lowest median kept
                    --only NAMES   workloads and groups, comma-separated: hot (the hot paths,
                                   the default), tokenizer, ar, everything (hot, tokenizer, ar),
                                   bandwidth (each memory-bound kernel on 128 MiB tensors),
                                   precision (sgemm_4096 in float32, tf32 and bf16; GPU only),
                                   launch (the cost of one kernel launch; GPU only), conv (3x3
                                   convolutions by Winograd and direct; GPU only)
                    --device D     cpu (default), cuda or cuda:N: inputs and models on the device,
                                   runs timed in batches of about 2 ms that end by waiting for
                                   the GPU; memory-bound kernels beside the device's measured
                                   copy bandwidth (256 MiB device to device), compute-bound ones
                                   in GFLOP/s alone
                    --precision P  float32 (default), tf32 or bf16: how the GPU's matmuls and
                                   convolutions multiply for the whole run
              bench --guard [--baseline FILE] [--margin 0.25] [--threads N]
                    re-measures the workloads of a baseline (default benchmarks/baseline.json)
                    and exits with status 1 if any got slower than the margin allows (CPU only)
              bench --write-baseline FILE   writes the measured ratios as a new baseline (each workload
                    measured --repeat times, default 3, keeping the median)
              bench --json FILE             also writes each result as a JSON line as soon as it is
                    measured (for benchmarks/compare.sh and benchmarks/gpu_compare.py); exit
                    status 1 when a workload failed (the others still run)
              info  prints the Java runtime, SIMD width, thread count and the CUDA devices
              help  prints this text
            """;

    public static void main(String[] argv) {
        try {
            System.exit(run(argv));
        } catch (CliException | IllegalArgumentException | IndexOutOfBoundsException | UnsupportedOperationException | CudaError e) {
            System.err.println("magvit4j: " + e.getMessage());
            System.exit(2);
        } catch (java.io.IOException e) {
            System.err.println("magvit4j: " + e.getMessage());
            System.exit(2);
        } catch (OutOfMemoryError e) {
            System.err.println("magvit4j: out of memory (" + e.getMessage() + "); give the JVM more heap with JAVA_OPTS=-Xmx<size>");
            System.exit(3);
        }
    }

    static int run(String[] argv) throws java.io.IOException {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help") || argv[0].equals("-h")) {
            System.out.print(USAGE);
            return argv.length == 0 ? 2 : 0;
        }
        return switch (argv[0]) {
            case "bench" -> bench(new Args(argv, 1, Set.of("only", "threads", "seconds", "repeat", "baseline", "margin", "write-baseline", "json", "device", "precision"), Set.of("guard")));
            case "encode" -> TokenizerCommands.encode(new Args(argv, 1, TokenizerCommands.VALUED, TokenizerCommands.FLAGS));
            case "decode" -> TokenizerCommands.decode(new Args(argv, 1, TokenizerCommands.VALUED, TokenizerCommands.FLAGS));
            case "reconstruct" -> TokenizerCommands.reconstruct(new Args(argv, 1, TokenizerCommands.VALUED, TokenizerCommands.FLAGS));
            case "generate" -> ArCommands.generate(new Args(argv, 1, ArCommands.VALUED, ArCommands.FLAGS));
            case "demo" -> TrainCommands.demo(new Args(argv, 1, Set.of("out", "threads", "device"), Set.of("quick")));
            case "train-tokenizer" -> TrainCommands.trainTokenizer(new Args(argv, 1, TrainCommands.VALUED, TrainCommands.FLAGS, true));
            case "train-ar" -> TrainCommands.trainAr(new Args(argv, 1, TrainCommands.VALUED, TrainCommands.FLAGS, true));
            case "init" -> TokenizerCommands.init(new Args(argv, 1, Set.of("preset", "out", "seed"), Set.of()));
            case "info" -> info();
            default -> throw new CliException("unknown command '" + argv[0] + "' (commands: demo, train-tokenizer, train-ar, encode, decode, reconstruct, generate, init, bench, info, help)");
        };
    }

    static void threads(Args a) {
        int t = a.getInt("threads", Parallel.threads());
        if (t < 1) throw new CliException("--threads must be at least 1, got " + t);
        Parallel.setThreads(t);
    }

    private static int info() {
        System.out.println("Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")");
        System.out.println("SIMD " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED);
        System.out.println("threads " + Parallel.threads() + " of " + Runtime.getRuntime().availableProcessors() + " cores");
        System.out.println("max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB");
        Cuda.Status cuda = Cuda.status();
        System.out.println("devices: cpu" + (cuda.available() ? "" : "; " + cuda));
        if (cuda.available()) {
            System.out.println(cuda);
            for (int i = 0; i < cuda.deviceCount(); i++) System.out.println("  " + Cuda.device(i));
        }
        return 0;
    }

    /** The --device option: cpu (default), cuda, cuda:N or auto; an unusable device is a one-line error. */
    static Device device(Args a) {
        Device d = Backends.parse(a.get("device", "cpu"));
        if (!d.isCpu()) System.err.println("magvit4j: running on " + ((CudaBackend) Backends.of(d)).cudaDevice());
        return d;
    }

    private static int bench(Args a) throws java.io.IOException {
        threads(a);
        boolean guard = a.flag("guard");
        Device device = device(a);
        String precision = a.get("precision", null);
        if (precision != null) {
            if (device.isCpu()) throw new CliException("--precision sets how the GPU multiplies; use it with --device cuda");
            CudaMatmul.setPrecision(switch (precision) {
                case "float32" -> CudaMatmul.Precision.FLOAT32;
                case "tf32" -> CudaMatmul.Precision.TF32;
                case "bf16" -> CudaMatmul.Precision.BF16;
                default -> throw new CliException("--precision must be float32, tf32 or bf16, got '" + precision + "'");
            });
        }
        if (guard && !device.isCpu()) throw new CliException("--guard runs on the CPU (its baseline holds the CPU's ratios)");
        // The guard runs in a short mode: half-second measurements (it re-measures what it flags).
        boolean writingBaseline = a.get("write-baseline", null) != null;
        Bench bench = new Bench(a.getDouble("seconds", guard ? 0.5 : 1.0), a.getInt("repeat", writingBaseline ? 3 : 1), writingBaseline, device, System.out);
        if (guard) {
            Path baseline = Path.of(a.get("baseline", "benchmarks/baseline.json"));
            if (!java.nio.file.Files.isRegularFile(baseline)) throw new CliException("baseline " + baseline + " not found");
            double margin = a.getDouble("margin", 0.25);
            List<String> slow = bench.guard(baseline, margin, 3);
            if (slow.isEmpty()) {
                System.out.println("guard: no workload is more than " + Math.round(margin * 100) + "% below its baseline");
                return 0;
            }
            System.out.println("guard: slower than the baseline: " + String.join(", ", slow));
            return 1;
        }
        String only = a.get("only", null);
        List<Workload> chosen = only == null ? Workloads.all() : Workloads.select(only);
        String json = a.get("json", null);
        List<Bench.Result> results = bench.table(chosen, json == null ? null : Path.of(json));
        String out = a.get("write-baseline", null);
        if (out != null) {
            Bench.writeBaseline(results, Path.of(out));
            System.out.println("baseline written to " + out);
        }
        if (bench.failed().isEmpty()) return 0;
        System.out.println("failed: " + String.join(", ", bench.failed()));
        return 1;
    }
}
