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

    public static List<Workload> all() {
        return List.of(sgemm(1024), sgemm(2048), conv3x3(), groupNorm(), depthToSpace(), lfqEntropy(), attention());
    }

    public static Workload byName(String name) {
        for (Workload w : all()) if (w.name().equals(name)) return w;
        throw new IllegalArgumentException("no workload named '" + name + "'; known: " + all().stream().map(Workload::name).toList());
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
