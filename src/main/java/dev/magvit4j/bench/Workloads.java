package dev.magvit4j.bench;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.cuda.CudaDevice;
import dev.magvit4j.backend.cuda.CudaMatmul;
import dev.magvit4j.backend.cuda.CudaWinograd;
import dev.magvit4j.bench.Workload.Bound;
import dev.magvit4j.ops.Attention;
import dev.magvit4j.ops.Convolution;
import dev.magvit4j.ops.DepthToSpace;
import dev.magvit4j.ops.Lfq;
import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiFunction;

/**
 * The engine's hot paths at the sizes of the models, each timed by {@code ./magvit4j bench},
 * by the JMH benchmarks in benchmarks/ and, under the same names and shapes, by
 * benchmarks/torch_peer.py on the PyTorch side (benchmarks/torch_gpu_peer.py on a GPU). Each
 * setup builds its inputs on the device it is given.
 */
public final class Workloads {

    private Workloads() {}

    /** The engine's hot paths (the guard's default set). */
    public static List<Workload> all() {
        return List.of(sgemm(1024), sgemm(2048), conv3x3(), groupNorm(), depthToSpace(), lfqEntropy(), attention());
    }

    /** Encode and decode of the released tokenizer architectures (random weights) at batch 1 and 8, and a training step of the 128 recipe. */
    public static List<Workload> tokenizer() {
        List<Workload> out = new java.util.ArrayList<>();
        for (String preset : List.of("128", "256")) {
            for (int batch : new int[] {1, 8}) {
                out.add(tokenizer(preset, batch, true));
                out.add(tokenizer(preset, batch, false));
            }
        }
        out.add(tokenizerTrainStep("128", 2));
        return out;
    }

    /** Cached sampling of the released B architecture (random weights) with guidance, and one training step of a small config. */
    public static List<Workload> ar() {
        return List.of(arSample("B", 1), arSample("B", 8), arTrainStep());
    }

    /** Every workload of the engine's hot paths and models (the CPU's full run). */
    public static List<Workload> everything() {
        List<Workload> out = new ArrayList<>(all());
        out.addAll(tokenizer());
        out.addAll(ar());
        return out;
    }

    /** A group of workloads by name (hot, tokenizer, ar, bandwidth, precision, launch, conv, everything), or null. */
    public static List<Workload> group(String name) {
        return switch (name) {
            case "hot" -> all();
            case "tokenizer" -> tokenizer();
            case "ar" -> ar();
            case "bandwidth" -> bandwidth();
            case "precision" -> precision();
            case "launch" -> launch();
            case "conv" -> conv();
            case "everything" -> everything();
            default -> null;
        };
    }

    /** The workloads of a comma-separated list of workload and group names, in that order. */
    public static List<Workload> select(String names) {
        List<Workload> out = new ArrayList<>();
        for (String n : names.split(",")) {
            List<Workload> g = group(n.trim());
            if (g != null) out.addAll(g);
            else out.add(byName(n.trim()));
        }
        return out;
    }

    public static Workload byName(String name) {
        List<Workload> known = new ArrayList<>(everything());
        known.addAll(bandwidth());
        known.addAll(precision());
        known.addAll(launch());
        known.addAll(conv());
        for (Workload w : known) if (w.name().equals(name)) return w;
        throw new IllegalArgumentException("no workload named '" + name + "'; known: " + known.stream().map(Workload::name).toList()
                + " and the groups hot, tokenizer, ar, bandwidth, precision, launch, conv, everything");
    }

    /**
     * tok{preset}_{encode|decode}_b{batch}: the released architecture with random weights on
     * images of its native size (a 16 x 16 token grid); work = the convolutions' flops.
     */
    public static Workload tokenizer(String preset, int batch, boolean encode) {
        dev.magvit4j.tokenizer.TokenizerConfig c = dev.magvit4j.tokenizer.TokenizerConfig.preset(preset);
        int size = 16 * c.downsampling();
        double flops = batch * (encode ? encoderFlops(c, size, size) : decoderFlops(c, 16, 16));
        String name = "tok" + preset + (encode ? "_encode" : "_decode") + "_b" + batch;
        String what = (encode ? "encode " : "decode ") + batch + " image(s) of " + size + "x" + size + " (" + preset + " model, random weights)";
        return new Workload(name, what, Bound.COMPUTE, flops, d -> {
            Generator g = new Generator(8);
            dev.magvit4j.tokenizer.Tokenizer tok = new dev.magvit4j.tokenizer.Tokenizer(c).to(d);
            tok.eval();
            if (encode) {
                Tensor images = Tensor.uniform(g, -1, 1, batch, 3, size, size).to(d);
                return () -> tok.encode(images);
            }
            Tensor indices = Tensor.ofLongs(new long[batch * 256], batch, 16, 16).to(d);
            return () -> tok.decode(indices);
        });
    }

    /**
     * tok{preset}_train_b{batch}: one step of the released tokenizer recipe (generator, then the
     * discriminator with LeCAM; no LPIPS, which needs downloaded weights) on images of the
     * model's native size; work = 3x the encoder's and decoder's convolution flops (forward and
     * the two gradients), the discriminator's not counted.
     */
    public static Workload tokenizerTrainStep(String preset, int batch) {
        dev.magvit4j.tokenizer.TokenizerConfig c = dev.magvit4j.tokenizer.TokenizerConfig.preset(preset);
        int size = 16 * c.downsampling();
        double flops = 3.0 * batch * (encoderFlops(c, size, size) + decoderFlops(c, 16, 16));
        String what = "train step (GAN, no LPIPS), " + batch + " image(s) of " + size + "x" + size + " (" + preset + " model)";
        return new Workload("tok" + preset + "_train_b" + batch, what, Bound.COMPUTE, flops, d -> {
            var recipe = dev.magvit4j.train.TokenizerTraining.Recipe.from(new dev.magvit4j.train.Settings(
                    java.util.Map.of("preset", preset, "batch_size", batch)));
            var data = new dev.magvit4j.data.BuiltinImages(1, size, batch);
            var stage = new dev.magvit4j.train.TokenizerTraining(recipe, data, data, null, d);
            Tensor images = Tensor.uniform(new Generator(9), -1, 1, batch, 3, size, size).to(d);
            long[] step = {0};
            return () -> stage.step(step[0]++, images);
        });
    }

    /** Positions generated per timed run of an AR sampling workload (attention is ~2% of a step at 256, so the rate holds for whole images). */
    public static final int AR_POSITIONS = 32;

    /**
     * ar{preset}_sample_b{batch}: the first {@link #AR_POSITIONS} positions of cached guided
     * sampling (2·batch rows) with the released settings and random weights; work = the weight
     * bytes each position must read (every weight once, the intra stack's twice).
     */
    public static Workload arSample(String preset, int batch) {
        dev.magvit4j.ar.ArConfig c = dev.magvit4j.ar.ArConfig.preset(preset);
        double bytes = 4.0 * AR_POSITIONS * arWeightsReadPerPosition(c);
        String what = "sample " + AR_POSITIONS + " positions x " + batch + " image(s), guided (" + 2 * batch + " rows), AR " + preset + " random weights";
        return new Workload("ar" + preset + "_sample_b" + batch, what, Bound.MEMORY, bytes, d -> {
            dev.magvit4j.ar.Transformer m = new dev.magvit4j.ar.Transformer(c, new Generator(5)).to(d);
            m.eval();
            dev.magvit4j.ar.Sampler s = new dev.magvit4j.ar.Sampler(m);
            long[] classes = new long[batch], seeds = new long[batch];
            for (int i = 0; i < batch; i++) {
                classes[i] = 100L * i;
                seeds[i] = i;
            }
            dev.magvit4j.ar.Sampling settings = dev.magvit4j.ar.Sampling.released(preset);
            return () -> s.sample(classes, seeds, settings, AR_POSITIONS, null);
        });
    }

    /** Floats of weights one sampling position reads: the spatial blocks once, the factorized blocks twice, one head each. */
    public static double arWeightsReadPerPosition(dev.magvit4j.ar.ArConfig c) {
        double block = 4.0 * c.dim() * c.dim() + 3.0 * c.dim() * c.ffnHidden();
        return c.spatialLayers() * block + 2 * c.factorizedLayers() * block + (double) c.dim() * ((1 << c.preBits()) + (1 << c.postBits()));
    }

    /** The small config of the AR training-step workload (and of its PyTorch peer). */
    public static final dev.magvit4j.ar.ArConfig AR_SMALL = new dev.magvit4j.ar.ArConfig(384, 6, 6, 2, 256, 1000, 6, 12, 1e-5f, 10000f, 256, 0.1f, 0.1f, 0.1f, 0.1f);
    public static final int AR_TRAIN_BATCH = 4;

    /**
     * ar_train_small: one AdamW step (forward with dropout, loss, backward, update) of
     * {@link #AR_SMALL} on a batch of {@link #AR_TRAIN_BATCH} full sequences; work = 6·params·tokens
     * flops for the matrix products (embeddings and attention left out).
     */
    public static Workload arTrainStep() {
        dev.magvit4j.ar.ArConfig c = AR_SMALL;
        int b = AR_TRAIN_BATCH, t = c.blockSize();
        double block = 4.0 * c.dim() * c.dim() + 3.0 * c.dim() * c.ffnHidden();
        double flops = 6.0 * b * t * (c.spatialLayers() * block + 2 * c.factorizedLayers() * block + (double) c.dim() * ((1 << c.preBits()) + (1 << c.postBits())));
        return new Workload("ar_train_small", "AR training step: dim 384, 6+2 layers, batch 4 x 256 tokens, AdamW", Bound.COMPUTE, flops, d -> {
            Generator g = new Generator(6);
            dev.magvit4j.ar.Transformer m = new dev.magvit4j.ar.Transformer(c, g).to(d);
            m.train();
            dev.magvit4j.optim.Adam opt = dev.magvit4j.optim.Adam.adamW(m.paramGroups(3e-4f, 0.05f), 0.9f, 0.95f);
            long[] pre = new long[b * t], post = new long[b * t], cls = new long[b];
            for (int i = 0; i < pre.length; i++) {
                pre[i] = g.nextInt(1 << c.preBits());
                post[i] = g.nextInt(1 << c.postBits());
            }
            for (int i = 0; i < b; i++) cls[i] = g.nextInt(c.classNum());
            Tensor tp = Tensor.ofLongs(pre, b, t).to(d), tq = Tensor.ofLongs(post, b, t).to(d), tc = Tensor.ofLongs(cls, b).to(d);
            return () -> {
                opt.zeroGrad();
                Tensor loss = m.loss(m.forward(tp, tq, tc), tp, tq);
                loss.backward();
                opt.step();
            };
        });
    }

    /** 2·C_in·C_out·k²·pixels for one convolution. */
    private static double conv(int in, int out, int k, int h, int w) {
        return 2.0 * in * out * k * k * h * w;
    }

    /** A ResBlock's two 3x3 convs (and the 1x1 shortcut when the width changes). */
    private static double resBlock(int in, int out, int h, int w) {
        return conv(in, out, 3, h, w) + conv(out, out, 3, h, w) + (in != out ? conv(in, out, 1, h, w) : 0);
    }

    /** The encoder's convolution flops on an h x w image (SPEC.md section 1). */
    public static double encoderFlops(dev.magvit4j.tokenizer.TokenizerConfig c, int h, int w) {
        int[] m = c.chMult();
        double f = conv(c.inChannels(), c.ch(), 3, h, w);
        int width = c.ch();
        for (int i = 0; i < m.length; i++) {
            int out = c.ch() * m[i];
            for (int j = 0; j < c.numResBlocks(); j++) f += resBlock(j == 0 ? width : out, out, h, w);
            width = out;
            if (i < m.length - 1) {
                h /= 2;
                w /= 2;
                f += conv(out, out, 3, h, w);
            }
        }
        for (int j = 0; j < c.numResBlocks(); j++) f += resBlock(width, width, h, w);
        return f + conv(width, c.zChannels(), 1, h, w);
    }

    /** The decoder's convolution flops from an h x w latent. */
    public static double decoderFlops(dev.magvit4j.tokenizer.TokenizerConfig c, int h, int w) {
        int[] m = c.chMult();
        int top = c.ch() * m[m.length - 1];
        double f = conv(c.zChannels(), top, 3, h, w);
        for (int j = 0; j < c.numResBlocks(); j++) f += resBlock(top, top, h, w);
        int width = top;
        for (int i = m.length - 1; i >= 0; i--) {
            int out = c.ch() * m[i];
            for (int j = 0; j < c.numResBlocks(); j++) f += resBlock(j == 0 ? width : out, out, h, w);
            width = out;
            if (i > 0) {
                f += conv(out, 4 * out, 3, h, w);
                h *= 2;
                w *= 2;
            }
        }
        return f + conv(width, c.outCh(), 3, h, w);
    }

    /** C = A·B, n x n x n: 2n³ flops. */
    public static Workload sgemm(int n) {
        return new Workload("sgemm_" + n, "matmul " + n + "x" + n + " @ " + n + "x" + n, Bound.COMPUTE, 2.0 * n * n * n, d -> {
            Generator g = new Generator(n);
            Tensor a = Tensor.randn(g, n, n).to(d), b = Tensor.randn(g, n, n).to(d);
            return () -> a.matmul(b);
        });
    }

    /** 3x3 convolution, 128 -> 128 channels at 64x64, batch 1, pad 1: 2·C·O·9·H·W flops (direct count). */
    public static Workload conv3x3() {
        return conv3x3(64);
    }

    /** {@link #conv3x3()} on hw x hw maps: conv3x3_128, or conv3x3_128_{hw}px for hw other than 64. */
    public static Workload conv3x3(int hw) {
        int c = 128;
        String name = "conv3x3_128" + (hw == 64 ? "" : "_" + hw + "px");
        return new Workload(name, "conv2d 3x3 128->128 at " + hw + "x" + hw + ", batch 1", Bound.COMPUTE, 2.0 * c * c * 9 * hw * hw, d -> {
            Generator g = new Generator(2);
            Tensor x = Tensor.randn(g, 1, c, hw, hw).to(d), w = Tensor.randn(g, c, c, 3, 3).mul(0.03f).to(d);
            return () -> Convolution.conv2d(x, w, null, 1, 1);
        });
    }

    /** GroupNorm, 32 groups, affine, on 1x512x64x64: one read and one write of the tensor. */
    public static Workload groupNorm() {
        int[] shape = {1, 512, 64, 64};
        double bytes = 2.0 * 4 * 512 * 64 * 64;
        return new Workload("groupnorm_512", "group norm (32 groups, affine) on 1x512x64x64", Bound.MEMORY, bytes, d -> {
            Generator g = new Generator(3);
            Tensor x = Tensor.randn(g, shape).to(d), w = Tensor.randn(g, 512).to(d), b = Tensor.randn(g, 512).to(d);
            return () -> Normalization.groupNorm(x, 32, w, b, 1e-6f);
        });
    }

    /** Depth-to-space (block 2, DCR) of 1x512x64x64 to 1x128x128x128: one read and one write. */
    public static Workload depthToSpace() {
        double bytes = 2.0 * 4 * 512 * 64 * 64;
        return new Workload("depth_to_space_512", "depth-to-space (DCR, block 2) 1x512x64x64 -> 1x128x128x128", Bound.MEMORY, bytes, d -> {
            Tensor x = Tensor.randn(new Generator(4), 1, 512, 64, 64).to(d);
            return () -> DepthToSpace.apply(x, 2);
        });
    }

    /**
     * LFQ entropy loss (per-sample minus codebook entropy, T = 0.01) on 4096 tokens of 18 bits,
     * forward and backward. Work counts the three 4096 x 512 x 512 products (forward, and the two
     * of the backward) that the exact factorised form needs: 3·2·4096·2^18 flops.
     */
    public static Workload lfqEntropy() {
        double flops = 3.0 * 2 * 4096 * (1 << 18);
        return new Workload("lfq_entropy_4096", "LFQ entropy loss fwd+bwd, 4096 tokens x 18 bits", Bound.ALGORITHM, flops, d -> {
            Tensor z = Tensor.randn(new Generator(5), 1, 18, 64, 64).mul(0.05f).to(d).requiresGrad(true);
            return () -> {
                Tensor e = Lfq.entropy(z, 0.01f);
                e.select(0, 0).sub(e.select(0, 1)).backward();
                z.zeroGrad();
            };
        });
    }

    /** Causal attention, 1 x 16 heads x 256 tokens x 64: QKᵀ and PV over the causal half, 4·H·T²·D/2 flops. */
    public static Workload attention() {
        int h = 16, t = 256, d = 64;
        double flops = 4.0 * h * t * t * d / 2;
        return new Workload("attention_256", "causal attention, 16 heads x 256 tokens x 64", Bound.COMPUTE, flops, dev -> {
            Generator g = new Generator(6);
            Tensor q = Tensor.randn(g, 1, h, t, d).to(dev), k = Tensor.randn(g, 1, h, t, d).to(dev), v = Tensor.randn(g, 1, h, t, d).to(dev);
            return () -> {
                try (var ignored = Autograd.noGrad()) {
                    Attention.causal(q, k, v);
                }
            };
        });
    }

    // ------------------------------------------------------------------ GPU matmul precisions

    /**
     * sgemm_4096 in each of the GPU's matmul precisions (CUDA only), and the tensor-core ones
     * again on the compute_80 build (mma.sync), which on Hopper sets wgmma beside it.
     */
    public static List<Workload> precision() {
        List<Workload> out = new ArrayList<>();
        for (CudaMatmul.Precision p : CudaMatmul.Precision.values()) out.add(sgemm(4096, p, true));
        out.add(sgemm(4096, CudaMatmul.Precision.TF32, false));
        out.add(sgemm(4096, CudaMatmul.Precision.BF16, false));
        return out;
    }

    /**
     * sgemm_{n}_{float32|tf32|bf16}[_mmasync]: {@link #sgemm(int)} with the GPU's matmuls set to
     * one precision for the run (and set back after it, so the workloads that follow keep theirs);
     * _mmasync: with the Hopper build of the GEMM kernels turned off
     * ({@link CudaDevice#useHopperKernels}).
     */
    public static Workload sgemm(int n, CudaMatmul.Precision p, boolean hopperKernels) {
        String mode = p.name().toLowerCase(Locale.ROOT), name = "sgemm_" + n + "_" + mode + (hopperKernels ? "" : "_mmasync");
        Workload plain = sgemm(n);
        String what = plain.description() + " in " + mode + (hopperKernels ? "" : " on mma.sync") + " (GPU)";
        return new Workload(name, what, Bound.COMPUTE, plain.work(), d -> {
            if (d.isCpu()) throw new IllegalArgumentException(name + " times a GPU matmul precision: run it with --device cuda");
            Runnable product = plain.setupOn().apply(d);
            return () -> {
                CudaMatmul.Precision before = CudaMatmul.precision();
                CudaMatmul.setPrecision(p);
                CudaDevice.useHopperKernels(hopperKernels);
                try {
                    product.run();
                } finally {
                    CudaMatmul.setPrecision(before);
                    CudaDevice.useHopperKernels(true);
                }
            };
        });
    }

    // ------------------------------------------------------------------ GPU convolution methods

    /**
     * The tokenizer's 3x3 convolution on the GPU by each method, so a GPU run says where Winograd
     * pays ({@link CudaWinograd}): at 64x64 (256 tiles, below AUTO's threshold: direct) forced to
     * Winograd, and at 256x256 (the 256 model's first level, 4096 tiles) by AUTO's choice and direct.
     */
    public static List<Workload> conv() {
        return List.of(conv3x3(64, CudaWinograd.Mode.ALWAYS), conv3x3(256), conv3x3(256, CudaWinograd.Mode.OFF));
    }

    /** {@link #conv3x3(int)} with the GPU's Winograd mode set for the run: suffix _winograd (ALWAYS) or _direct (OFF). */
    public static Workload conv3x3(int hw, CudaWinograd.Mode mode) {
        Workload plain = conv3x3(hw);
        String suffix = mode == CudaWinograd.Mode.ALWAYS ? "_winograd" : mode == CudaWinograd.Mode.OFF ? "_direct" : "";
        String name = plain.name() + suffix;
        return new Workload(name, plain.description() + (suffix.isEmpty() ? "" : ", " + suffix.substring(1) + " (GPU)"), Bound.COMPUTE, plain.work(), d -> {
            if (d.isCpu()) throw new IllegalArgumentException(name + " sets how the GPU convolves: run it with --device cuda");
            Runnable conv = plain.setupOn().apply(d);
            return () -> {
                CudaWinograd.Mode before = CudaWinograd.mode();
                CudaWinograd.setMode(mode);
                try {
                    conv.run();
                } finally {
                    CudaWinograd.setMode(before);
                }
            };
        });
    }

    // ------------------------------------------------------------------ launches

    /** The cost of one kernel launch on a GPU, through the FFM API and through JCuda (CUDA only). */
    public static List<Workload> launch() {
        return List.of(launch(true), launch(false));
    }

    /**
     * launch_axpby[_jcuda]: one launch of an axpby on 4 floats, so the time per run is what a
     * launch costs: the host's side or the GPU's per-kernel time, whichever is longer. _jcuda:
     * through JCuda instead of the FFM API ({@link CudaDevice#useNativeLaunch}).
     */
    public static Workload launch(boolean nativeLaunch) {
        String name = "launch_axpby" + (nativeLaunch ? "" : "_jcuda");
        String what = "one kernel launch (axpby of 4 floats) through " + (nativeLaunch ? "the FFM API" : "JCuda") + " (GPU)";
        return new Workload(name, what, Bound.MEMORY, 48, d -> {
            if (d.isCpu()) throw new IllegalArgumentException(name + " times a GPU kernel launch: run it with --device cuda");
            Backend be = Backends.of(d);
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(d), y = Tensor.of(new float[] {4, 3, 2, 1}, 4).to(d);
            return () -> {
                CudaDevice.useNativeLaunch(nativeLaunch);
                try {
                    be.axpby(0.5f, x, 1f, y);
                } finally {
                    CudaDevice.useNativeLaunch(true);
                }
            };
        });
    }

    // ------------------------------------------------------------------ memory-bound kernels

    /** Floats in each big tensor of the bandwidth workloads: 128 MiB. */
    public static final int BW_FLOATS = 1 << 25;

    /**
     * Each memory-bound kernel of the backend, called directly (no autograd), on tensors of
     * {@link #BW_FLOATS} floats; work = the bytes it must read and write (small tables such as
     * norm weights or statistics included), compared with the copy bandwidth.
     */
    public static List<Workload> bandwidth() {
        int n = BW_FLOATS, rows = n / 4096, tokens = n / 1024, vocab = 1 << 16, width = n / vocab;
        double f = 4.0 * n;  // bytes of one big tensor
        int[] image = {16, 512, 64, 64}, heads = {128, 16, 256, 64};
        return List.of(
                bandwidth("bw_copy", "copy into a preallocated tensor, [" + n + "]", 2 * f, (be, g) -> {
                    Tensor x = randn(be, g, n), y = be.empty(DType.FLOAT32, n);
                    return () -> be.copy(x, y);
                }),
                bandwidth("bw_exp", "unary exp, [" + n + "]", 2 * f, (be, g) -> {
                    Tensor x = randn(be, g, n);
                    return () -> be.unary(Backend.UnaryOp.EXP, 0, x);
                }),
                bandwidth("bw_add", "binary add, [" + n + "] + [" + n + "]", 3 * f, (be, g) -> {
                    Tensor a = randn(be, g, n), b = randn(be, g, n);
                    return () -> be.binary(Backend.BinaryOp.ADD, a, b);
                }),
                bandwidth("bw_affine", "x * 0.5 + 1, [" + n + "]", 2 * f, (be, g) -> {
                    Tensor x = randn(be, g, n);
                    return () -> be.affine(x, 0.5f, 1f);
                }),
                bandwidth("bw_sum_rows", "sum over the last dim, [" + rows + ", 4096] -> [" + rows + "]", f + 4.0 * rows, (be, g) -> {
                    Tensor x = randn(be, g, rows, 4096);
                    return () -> be.reduce(Backend.ReduceOp.SUM, x, new int[] {1}, false);
                }),
                bandwidth("bw_softmax", "softmax over the last dim, [" + rows + ", 4096]", 2 * f, (be, g) -> {
                    Tensor x = randn(be, g, rows, 4096);
                    return () -> be.softmax(x, false);
                }),
                bandwidth("bw_rmsnorm", "RMSNorm over the last dim, [" + tokens + ", 1024]", 2 * f + 4.0 * (tokens + 1024), (be, g) -> {
                    Tensor x = randn(be, g, tokens, 1024), w = randn(be, g, 1024);
                    return () -> be.rmsNorm(x, w, 1e-5f);
                }),
                bandwidth("bw_groupnorm", "GroupNorm, 32 groups, affine, [16, 512, 64, 64]", 2 * f, (be, g) -> {
                    Tensor x = randn(be, g, image), w = randn(be, g, 512), b = randn(be, g, 512);
                    return () -> be.groupNorm(x, 32, 1e-6f, w, b, false);
                }),
                bandwidth("bw_swiglu", "silu(a) * b, [" + n + "]", 3 * f, (be, g) -> {
                    Tensor a = randn(be, g, n), b = randn(be, g, n);
                    return () -> be.swiglu(a, b);
                }),
                bandwidth("bw_depth_to_space", "depth-to-space (DCR, block 2), [16, 512, 64, 64]", 2 * f, (be, g) -> {
                    Tensor x = randn(be, g, image);
                    return () -> be.depthToSpace(x, 2, false);
                }),
                bandwidth("bw_rope", "RoPE on interleaved pairs, [128, 16, 256, 64] with cos, sin [256, 32]", 2 * f + 2 * 4.0 * 256 * 32, (be, g) -> {
                    Tensor x = randn(be, g, heads), cos = randn(be, g, 256, 32), sin = randn(be, g, 256, 32);
                    return () -> be.rope(x, cos, sin, false);
                }),
                bandwidth("bw_adam", "AdamW step in place, [" + n + "]: reads param, grad, m, v; writes param, m, v", 7 * f, (be, g) -> {
                    Tensor p = randn(be, g, n), grad = randn(be, g, n), m = be.empty(DType.FLOAT32, n), v = be.empty(DType.FLOAT32, n);
                    be.fill(m, 0);
                    be.fill(v, 0);
                    return () -> be.adamStep(p, grad, m, v, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.05f, true, 1);
                }),
                bandwidth("bw_embedding", "embedding rows of a [" + vocab + ", " + width + "] table at " + vocab + " random int64 indices",
                        2 * f + 8.0 * vocab, (be, g) -> {
                    Tensor table = randn(be, g, vocab, width);
                    long[] idx = new long[vocab];
                    for (int i = 0; i < vocab; i++) idx[i] = g.nextInt(vocab);
                    Tensor indices = Tensor.ofLongs(idx, vocab).to(be.device());
                    return () -> be.embedding(table, indices);
                }));
    }

    private static Workload bandwidth(String name, String what, double bytes, BiFunction<Backend, Generator, Runnable> setup) {
        return new Workload(name, what, Bound.MEMORY, bytes, d -> setup.apply(Backends.of(d), new Generator(name.hashCode())));
    }

    /** Standard normal samples on the backend's device. */
    private static Tensor randn(Backend be, Generator g, int... shape) {
        Tensor t = be.empty(DType.FLOAT32, shape);
        be.fillRandom(t, Backend.Distribution.NORMAL, 0, 1, g);
        return t;
    }
}
