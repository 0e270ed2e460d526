package dev.magvit4j.bench;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.bench.Workload.Bound;
import dev.magvit4j.ops.Attention;
import dev.magvit4j.ops.Convolution;
import dev.magvit4j.ops.DepthToSpace;
import dev.magvit4j.ops.Lfq;
import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

import java.util.List;

/**
 * The engine's hot paths at the sizes of the models, each timed by {@code ./magvit4j bench},
 * by the JMH benchmarks in benchmarks/ and, under the same names and shapes, by
 * benchmarks/torch_peer.py on the PyTorch side.
 */
public final class Workloads {

    private Workloads() {}

    /** The engine's hot paths (the guard's default set). */
    public static List<Workload> all() {
        return List.of(sgemm(1024), sgemm(2048), conv3x3(), groupNorm(), depthToSpace(), lfqEntropy(), attention());
    }

    /** Encode and decode of the released tokenizer architectures (random weights) at batch 1 and 8. */
    public static List<Workload> tokenizer() {
        List<Workload> out = new java.util.ArrayList<>();
        for (String preset : List.of("128", "256")) {
            for (int batch : new int[] {1, 8}) {
                out.add(tokenizer(preset, batch, true));
                out.add(tokenizer(preset, batch, false));
            }
        }
        return out;
    }

    /** Cached sampling of the released B architecture (random weights) with guidance, and one training step of a small config. */
    public static List<Workload> ar() {
        return List.of(arSample("B", 1), arSample("B", 8), arTrainStep());
    }

    /** Every workload, hot paths then models. */
    public static List<Workload> everything() {
        List<Workload> out = new java.util.ArrayList<>(all());
        out.addAll(tokenizer());
        out.addAll(ar());
        return out;
    }

    public static Workload byName(String name) {
        for (Workload w : everything()) if (w.name().equals(name)) return w;
        throw new IllegalArgumentException("no workload named '" + name + "'; known: " + everything().stream().map(Workload::name).toList());
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
        return new Workload(name, what, Bound.COMPUTE, flops, () -> {
            Generator g = new Generator(8);
            dev.magvit4j.tokenizer.Tokenizer tok = new dev.magvit4j.tokenizer.Tokenizer(c);
            tok.eval();
            if (encode) {
                Tensor images = Tensor.uniform(g, -1, 1, batch, 3, size, size);
                return () -> tok.encode(images);
            }
            Tensor indices = Tensor.ofLongs(new long[batch * 256], batch, 16, 16);
            return () -> tok.decode(indices);
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
        return new Workload("ar" + preset + "_sample_b" + batch, what, Bound.MEMORY, bytes, () -> {
            dev.magvit4j.ar.Transformer m = new dev.magvit4j.ar.Transformer(c, new Generator(5));
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
        return new Workload("ar_train_small", "AR training step: dim 384, 6+2 layers, batch 4 x 256 tokens, AdamW", Bound.COMPUTE, flops, () -> {
            Generator g = new Generator(6);
            dev.magvit4j.ar.Transformer m = new dev.magvit4j.ar.Transformer(c, g);
            m.train();
            dev.magvit4j.optim.Adam opt = dev.magvit4j.optim.Adam.adamW(m.paramGroups(3e-4f, 0.05f), 0.9f, 0.95f);
            long[] pre = new long[b * t], post = new long[b * t], cls = new long[b];
            for (int i = 0; i < pre.length; i++) {
                pre[i] = g.nextInt(1 << c.preBits());
                post[i] = g.nextInt(1 << c.postBits());
            }
            for (int i = 0; i < b; i++) cls[i] = g.nextInt(c.classNum());
            Tensor tp = Tensor.ofLongs(pre, b, t), tq = Tensor.ofLongs(post, b, t), tc = Tensor.ofLongs(cls, b);
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
        return new Workload("sgemm_" + n, "matmul " + n + "x" + n + " @ " + n + "x" + n, Bound.COMPUTE, 2.0 * n * n * n, () -> {
            Generator g = new Generator(n);
            Tensor a = Tensor.randn(g, n, n), b = Tensor.randn(g, n, n);
            return () -> a.matmul(b);
        });
    }

    /** 3x3 convolution, 128 -> 128 channels at 64x64, batch 1, pad 1: 2·C·O·9·H·W flops (direct count). */
    public static Workload conv3x3() {
        int c = 128, hw = 64;
        return new Workload("conv3x3_128", "conv2d 3x3 128->128 at 64x64, batch 1", Bound.COMPUTE, 2.0 * c * c * 9 * hw * hw, () -> {
            Generator g = new Generator(2);
            Tensor x = Tensor.randn(g, 1, c, hw, hw), w = Tensor.randn(g, c, c, 3, 3).mul(0.03f);
            return () -> Convolution.conv2d(x, w, null, 1, 1);
        });
    }

    /** GroupNorm, 32 groups, affine, on 1x512x64x64: one read and one write of the tensor. */
    public static Workload groupNorm() {
        int[] shape = {1, 512, 64, 64};
        double bytes = 2.0 * 4 * 512 * 64 * 64;
        return new Workload("groupnorm_512", "group norm (32 groups, affine) on 1x512x64x64", Bound.MEMORY, bytes, () -> {
            Generator g = new Generator(3);
            Tensor x = Tensor.randn(g, shape), w = Tensor.randn(g, 512), b = Tensor.randn(g, 512);
            return () -> Normalization.groupNorm(x, 32, w, b, 1e-6f);
        });
    }

    /** Depth-to-space (block 2, DCR) of 1x512x64x64 to 1x128x128x128: one read and one write. */
    public static Workload depthToSpace() {
        double bytes = 2.0 * 4 * 512 * 64 * 64;
        return new Workload("depth_to_space_512", "depth-to-space (DCR, block 2) 1x512x64x64 -> 1x128x128x128", Bound.MEMORY, bytes, () -> {
            Tensor x = Tensor.randn(new Generator(4), 1, 512, 64, 64);
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
        return new Workload("lfq_entropy_4096", "LFQ entropy loss fwd+bwd, 4096 tokens x 18 bits", Bound.ALGORITHM, flops, () -> {
            Tensor z = Tensor.randn(new Generator(5), 1, 18, 64, 64).mul(0.05f).requiresGrad(true);
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
        return new Workload("attention_256", "causal attention, 16 heads x 256 tokens x 64", Bound.COMPUTE, flops, () -> {
            Generator g = new Generator(6);
            Tensor q = Tensor.randn(g, 1, h, t, d), k = Tensor.randn(g, 1, h, t, d), v = Tensor.randn(g, 1, h, t, d);
            return () -> {
                try (var ignored = Autograd.noGrad()) {
                    Attention.causal(q, k, v);
                }
            };
        });
    }
}
