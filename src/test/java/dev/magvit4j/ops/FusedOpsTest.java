package dev.magvit4j.ops;

import dev.magvit4j.backend.Backend.UnaryOp;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.testing.Ref;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every fused op twice: against a plain double reference (forward and finite-difference
 * gradients), and against the same computation composed from the engine's primitive ops
 * (outputs and gradients must agree).
 */
class FusedOpsTest {

    /** Runs both functions on fresh copies of the inputs with one upstream gradient; outputs and input gradients must agree. */
    private static void assertSameAsComposition(String name, Function<Tensor[], Tensor> fused, Function<Tensor[], Tensor> composed, double tol, Tensor... inputs) {
        Tensor[] a = new Tensor[inputs.length], b = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            a[i] = inputs[i].detach().copy();
            b[i] = inputs[i].detach().copy();
            if (inputs[i].requiresGrad()) {
                a[i].requiresGrad(true);
                b[i].requiresGrad(true);
            }
        }
        Tensor ya = fused.apply(a), yb = composed.apply(b);
        GradCheck.assertClose(name + " output vs composition", yb, ya, tol);
        Tensor w = Tensor.randn(new Generator(name.hashCode()), ya.shapeRef());
        ya.backward(w);
        yb.backward(w);
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i].requiresGrad()) GradCheck.assertClose(name + " gradient " + i + " vs composition", b[i].grad(), a[i].grad(), tol);
        }
    }

    // ------------------------------------------------------------------ SwiGLU

    @Test
    void swiglu() {
        Generator gen = new Generator(1);
        Tensor a = GradCheck.param(gen, 3, 37), b = GradCheck.param(gen, 3, 37);
        GradCheck.check("swiglu", in -> SwiGlu.apply(in[0], in[1]), in -> {
            double[] y = new double[in[0].length];
            for (int i = 0; i < y.length; i++) y[i] = in[0][i] * Ref.sigmoid(in[0][i]) * in[1][i];
            return y;
        }, a, b);
        assertSameAsComposition("swiglu", in -> SwiGlu.apply(in[0], in[1]), in -> in[0].silu().mul(in[1]), 1e-6, a, b);
        assertThrows(IllegalArgumentException.class, () -> SwiGlu.apply(Tensor.zeros(2, 3), Tensor.zeros(3, 2)));
    }

    // ------------------------------------------------------------------ RMSNorm

    @Test
    void rmsNormMatchesComposition() {
        Generator gen = new Generator(2);
        Tensor x = GradCheck.param(gen, 2, 5, 48), w = GradCheck.param(gen, 48);
        assertSameAsComposition("rms_norm", in -> Normalization.rmsNorm(in[0], in[1], 1e-5f),
                in -> in[0].mul(in[0].square().meanKeepDim(-1).add(1e-5f).rsqrt()).mul(in[1]), 1e-5, x, w);
    }

    // ------------------------------------------------------------------ adaptive GroupNorm

    @Test
    void adaptiveGroupNormMatchesComposition() {
        Generator gen = new Generator(3);
        Tensor x = GradCheck.param(gen, 2, 8, 5, 3), scale = GradCheck.param(gen, 2, 8), shift = GradCheck.param(gen, 2, 8);
        GradCheck.check("adaptive_group_norm", in -> Normalization.adaptiveGroupNorm(in[0], 4, in[1], in[2], 1e-6f),
                in -> Ref.groupNorm(in[0], 2, 8, 15, 4, 1e-6, in[1], in[2], true), x, scale, shift);
        assertSameAsComposition("adaptive_group_norm", in -> Normalization.adaptiveGroupNorm(in[0], 4, in[1], in[2], 1e-6f),
                in -> Normalization.groupNorm(in[0], 4, null, null, 1e-6f).mul(in[1].reshape(2, 8, 1, 1)).add(in[2].reshape(2, 8, 1, 1)), 1e-5, x, scale, shift);
        assertThrows(IllegalArgumentException.class, () -> Normalization.adaptiveGroupNorm(x.detach(), 4, Tensor.ones(8), Tensor.zeros(8), 1e-6f));
    }

    // ------------------------------------------------------------------ GroupNorm + SiLU

    @Test
    void groupNormSiluMatchesComposition() {
        Generator gen = new Generator(12);
        Tensor x = GradCheck.param(gen, 2, 8, 5, 3), w = GradCheck.param(gen, 8), b = GradCheck.param(gen, 8);
        GradCheck.check("group_norm_silu", in -> Normalization.groupNormSilu(in[0], 4, in[1], in[2], 1e-6f), in -> {
            double[] y = Ref.groupNorm(in[0], 2, 8, 15, 4, 1e-6, in[1], in[2], false);
            for (int i = 0; i < y.length; i++) y[i] *= Ref.sigmoid(y[i]);
            return y;
        }, x, w, b);
        assertSameAsComposition("group_norm_silu", in -> Normalization.groupNormSilu(in[0], 4, in[1], in[2], 1e-6f),
                in -> Normalization.groupNorm(in[0], 4, in[1], in[2], 1e-6f).silu(), 1e-5, x, w, b);
        // Per-sample tables (the adaptive form) and no affine at all.
        Tensor sc = GradCheck.param(gen, 2, 8), sh = GradCheck.param(gen, 2, 8);
        GradCheck.check("group_norm_silu per sample", in -> Normalization.groupNormSilu(in[0], 2, in[1], in[2], 1e-6f), in -> {
            double[] y = Ref.groupNorm(in[0], 2, 8, 15, 2, 1e-6, in[1], in[2], true);
            for (int i = 0; i < y.length; i++) y[i] *= Ref.sigmoid(y[i]);
            return y;
        }, x, sc, sh);
        assertSameAsComposition("group_norm_silu no affine", in -> Normalization.groupNormSilu(in[0], 8, null, null, 1e-6f),
                in -> Normalization.groupNorm(in[0], 8, null, null, 1e-6f).silu(), 1e-5, x);
    }

    // ------------------------------------------------------------------ depth-to-space

    private static double[] depthToSpaceRef(double[] x, int b, int c, int h, int w, int r) {
        int co = c / (r * r);
        double[] y = new double[x.length];
        for (int n = 0; n < b; n++)
            for (int ch = 0; ch < co; ch++)
                for (int yy = 0; yy < h; yy++)
                    for (int xx = 0; xx < w; xx++)
                        for (int i = 0; i < r; i++)
                            for (int j = 0; j < r; j++)
                                y[((n * co + ch) * h * r + yy * r + i) * w * r + xx * r + j] = x[((n * c + (i * r + j) * co + ch) * h + yy) * w + xx];
        return y;
    }

    @Test
    void depthToSpace() {
        Generator gen = new Generator(4);
        // width 37: vector body (16-wide) plus tail; block 2 (vector path) and block 3 (scalar path).
        for (int r : new int[] {2, 3}) {
            Tensor x = GradCheck.param(gen, 2, 4 * r * r, 3, 37);
            GradCheck.check("depth_to_space r=" + r, in -> DepthToSpace.apply(in[0], r), in -> depthToSpaceRef(in[0], 2, 4 * r * r, 3, 37, r), x);
            assertSameAsComposition("depth_to_space r=" + r, in -> DepthToSpace.apply(in[0], r),
                    in -> in[0].reshape(2, r, r, 4, 3, 37).permute(0, 3, 4, 1, 5, 2).reshape(2, 4, 3 * r, 37 * r), 0, x);
        }
        assertThrows(IllegalArgumentException.class, () -> DepthToSpace.apply(Tensor.zeros(1, 6, 2, 2), 2));
    }

    // ------------------------------------------------------------------ RoPE

    @Test
    void ropeRotatesPairs() {
        Generator gen = new Generator(5);
        int t = 5, d = 8;
        Tensor x = GradCheck.param(gen, 2, 3, t, d);
        Tensor[] table = Rope.table2d(2, d, 10000f); // 1 + 2x2 positions = 5
        double[] c = GradCheck.toDouble(table[0]), s = GradCheck.toDouble(table[1]);
        GradCheck.check("rope", in -> Rope.apply(in[0], table[0], table[1]), in -> {
            double[] y = new double[in[0].length];
            for (int row = 0; row < y.length / d; row++) {
                int p = row % t;
                for (int i = 0; i < d / 2; i++) {
                    double x0 = in[0][row * d + 2 * i], x1 = in[0][row * d + 2 * i + 1];
                    y[row * d + 2 * i] = x0 * c[p * d / 2 + i] - x1 * s[p * d / 2 + i];
                    y[row * d + 2 * i + 1] = x0 * s[p * d / 2 + i] + x1 * c[p * d / 2 + i];
                }
            }
            return y;
        }, x);
        assertSameAsComposition("rope", in -> Rope.apply(in[0], table[0], table[1]), in -> {
            Tensor x0 = in[0].slice(-1, 0, d, 2), x1 = in[0].slice(-1, 1, d, 2);
            Tensor y0 = x0.mul(table[0]).sub(x1.mul(table[1])), y1 = x0.mul(table[1]).add(x1.mul(table[0]));
            return Views.stack(List.of(y0, y1), -1).reshape(2, 3, t, d);
        }, 1e-6, x);
        // The class position (row 0 of the table) is zeroed; row 1 is grid cell (0, 0): the identity.
        Tensor rotated = Rope.apply(x.detach(), table[0], table[1]);
        for (int i = 0; i < d; i++) assertTrue(rotated.get(0, 0, 0, i) == 0f);
        for (int i = 0; i < d; i++) assertTrue(rotated.get(1, 2, 1, i) == x.get(1, 2, 1, i));
    }

    @Test
    void ropeTable2dFollowsTheSpec() {
        int grid = 3, hd = 8;
        Tensor[] t = Rope.table2d(grid, hd, 10000f);
        assertArrayEquals(new int[] {1 + grid * grid, hd / 2}, t[0].shape());
        // position p = 1 + 2*3 + 1 is row 2, column 1; pair 0 uses the row, pair 2 (first of the second half) the column.
        int p = 1 + 2 * grid + 1;
        assertTrue(Math.abs(t[0].get(p, 0) - Math.cos(2.0)) < 1e-6);
        assertTrue(Math.abs(t[1].get(p, 2) - Math.sin(1.0)) < 1e-6);
        double f1 = Math.pow(10000, -2.0 / (hd / 2));
        assertTrue(Math.abs(t[0].get(p, 1) - Math.cos(2 * f1)) < 1e-6);
        assertTrue(Math.abs(t[1].get(p, 3) - Math.sin(1 * f1)) < 1e-6);
    }

    // ------------------------------------------------------------------ attention

    /** Direct attention in double: q [B,H,Tq,D], k/v [B,H,Tk,D], query i at key position i + Tk - Tq. */
    private static double[] attentionRef(double[] q, double[] k, double[] v, int bh, int tq, int tk, int d, boolean causal, boolean[] mask, double scale) {
        double[] out = new double[bh * tq * d];
        for (int z = 0; z < bh; z++) {
            for (int i = 0; i < tq; i++) {
                double[] s = new double[tk];
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < tk; j++) {
                    boolean visible = (!causal || j <= i + tk - tq) && (mask == null || mask[i * tk + j]);
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += q[(z * tq + i) * d + c] * k[(z * tk + j) * d + c];
                    s[j] = visible ? dot * scale : Double.NEGATIVE_INFINITY;
                    mx = Math.max(mx, s[j]);
                }
                if (mx == Double.NEGATIVE_INFINITY) continue;
                double sum = 0;
                for (int j = 0; j < tk; j++) sum += s[j] = Math.exp(s[j] - mx);
                for (int j = 0; j < tk; j++) for (int c = 0; c < d; c++) out[(z * tq + i) * d + c] += s[j] / sum * v[(z * tk + j) * d + c];
            }
        }
        return out;
    }

    @Test
    void causalAttentionOverSeveralBlocks() {
        Generator gen = new Generator(6);
        int b = 1, h = 2, t = 70, d = 16; // 70 queries: two row blocks of 64
        Tensor q = GradCheck.param(gen, b, h, t, d), k = GradCheck.param(gen, b, h, t, d), v = GradCheck.param(gen, b, h, t, d);
        float scale = 0.25f;
        GradCheck.check("attention causal", in -> Attention.scaledDotProduct(in[0], in[1], in[2], null, true, scale),
                in -> attentionRef(in[0], in[1], in[2], b * h, t, t, d, true, null, scale), q, k, v);
        assertSameAsComposition("attention causal", in -> Attention.scaledDotProduct(in[0], in[1], in[2], null, true, scale), in -> {
            boolean[] m = new boolean[t * t];
            for (int i = 0; i < t; i++) for (int j = 0; j <= i; j++) m[i * t + j] = true;
            Tensor bias = Tensor.of(maskBias(m), t, t);
            return in[0].matmul(in[1].mT()).mul(scale).add(bias).softmax(-1).matmul(in[2]);
        }, 1e-5, q, k, v);
    }

    /** Few keys (the AR model's two-position intra sequences) take a row-by-row path: full and cached, forward and backward. */
    @Test
    void causalAttentionWithFewKeys() {
        Generator gen = new Generator(16);
        int b = 3, h = 2, d = 16;
        float scale = 0.3f;
        for (int[] qk : new int[][] {{2, 2}, {1, 3}, {5, 8}}) {
            int tq = qk[0], tk = qk[1];
            Tensor q = GradCheck.param(gen, b, h, tq, d), k = GradCheck.param(gen, b, h, tk, d), v = GradCheck.param(gen, b, h, tk, d);
            GradCheck.check("attention, " + tq + " queries, " + tk + " keys", in -> Attention.scaledDotProduct(in[0], in[1], in[2], null, true, scale),
                    in -> attentionRef(in[0], in[1], in[2], b * h, tq, tk, d, true, null, scale), q, k, v);
        }
        // Keys and values as views of a longer cache ([B, H, capacity, D], first 3 positions filled).
        Tensor cache = Tensor.randn(gen, b, h, 10, d);
        Tensor q = Tensor.randn(gen, b, h, 1, d), k = cache.slice(2, 0, 3), v = cache.slice(2, 0, 3).mul(2f);
        GradCheck.assertClose("attention on cache views", Attention.scaledDotProduct(q, k.contiguous(), v.contiguous(), null, true, scale),
                Attention.scaledDotProduct(q, k, v, null, true, scale), 0);
    }

    private static float[] maskBias(boolean[] m) {
        float[] f = new float[m.length];
        for (int i = 0; i < m.length; i++) f[i] = m[i] ? 0f : Float.NEGATIVE_INFINITY;
        return f;
    }

    @Test
    void attentionWithKeyValueCacheAndMask() {
        Generator gen = new Generator(7);
        int h = 3, tq = 4, tk = 9, d = 8;  // 5 cached positions, 4 new queries
        Tensor q = GradCheck.param(gen, 1, h, tq, d), k = GradCheck.param(gen, 1, h, tk, d), v = GradCheck.param(gen, 1, h, tk, d);
        boolean[] m = new boolean[tq * tk];
        for (int i = 0; i < m.length; i++) m[i] = (i * 7) % 5 != 0;   // arbitrary holes, no row empty
        Tensor mask = Tensor.ofBools(m, tq, tk);
        float scale = (float) (1 / Math.sqrt(d));
        GradCheck.check("attention cached causal", in -> Attention.scaledDotProduct(in[0], in[1], in[2], null, true, scale),
                in -> attentionRef(in[0], in[1], in[2], h, tq, tk, d, true, null, scale), q, k, v);
        GradCheck.check("attention masked", in -> Attention.scaledDotProduct(in[0], in[1], in[2], mask, false, scale),
                in -> attentionRef(in[0], in[1], in[2], h, tq, tk, d, false, m, scale), q, k, v);
        // The cached result for the last query equals the full causal attention's last row.
        Tensor qFull = Tensor.randn(gen, 1, h, tk, d);
        Tensor full = Attention.scaledDotProduct(qFull, k.detach(), v.detach(), null, true, scale);
        Tensor last = Attention.scaledDotProduct(qFull.slice(2, tk - 1, tk), k.detach(), v.detach(), null, true, scale);
        GradCheck.assertClose("cache consistency", full.slice(2, tk - 1, tk).contiguous(), last, 1e-6);
    }

    @Test
    void attentionRowWithNoVisibleKeyIsZero() {
        Generator gen = new Generator(8);
        Tensor q = Tensor.randn(gen, 1, 1, 2, 4), k = Tensor.randn(gen, 1, 1, 2, 4), v = Tensor.randn(gen, 1, 1, 2, 4);
        Tensor mask = Tensor.ofBools(new boolean[] {false, false, true, true}, 2, 2);
        Tensor out = Attention.scaledDotProduct(q, k, v, mask, false, 1f);
        for (int c = 0; c < 4; c++) assertTrue(out.get(0, 0, 0, c) == 0f);
        assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, k, v, Tensor.ones(2, 2), false, 1f));
        assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, Tensor.zeros(1, 1, 2, 5), v, null, false, 1f));
    }

    // ------------------------------------------------------------------ LFQ

    @Test
    void lfqQuantizeSignsAndIndices() {
        // One token per sample position; channel 0 is the least significant bit; 0 maps to -1.
        float[] z = {0.5f, -1f, 0f, 2f, -0.1f, 0.3f}; // [1, 6, 1, 1]
        Tensor x = Tensor.of(z, 1, 6, 1, 1).requiresGrad(true);
        Lfq.Quantized q = Lfq.quantize(x, 2, 4);
        assertArrayEquals(new float[] {1, -1, -1, 1, -1, 1}, q.values().toFloatArray());
        long index = 1 + 8 + 32;
        assertArrayEquals(new long[] {index}, q.indices().toLongArray());
        assertArrayEquals(new long[] {index & 3}, q.groupIndices()[0].toLongArray());
        assertArrayEquals(new long[] {index >> 2}, q.groupIndices()[1].toLongArray());
        assertArrayEquals(new int[] {1, 1, 1}, q.indices().shape());
        // straight-through: the gradient passes unchanged
        q.values().mul(Tensor.arange(6).reshape(1, 6, 1, 1)).sum().backward();
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, x.grad().toFloatArray());
        assertArrayEquals(new float[] {1, -1, -1, 1, -1, 1}, Lfq.indicesToCodes(q.indices(), 6).toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> Lfq.quantize(x.detach(), 3, 4));
    }

    /** [per-sample, codebook] entropy from the softmax over all 2^C codes, in double: the reference formulation. */
    private static double[] bruteForceEntropy(double[] z, int b, int c, int hw, double temperature) {
        int n = b * hw, codes = 1 << c;
        double[] avg = new double[codes];
        double perSample = 0;
        for (int t = 0; t < n; t++) {
            int s = t / hw, p = t % hw;
            double[] logits = new double[codes];
            for (int j = 0; j < codes; j++) {
                double dot = 0;
                for (int k = 0; k < c; k++) dot += z[(s * c + k) * hw + p] * (((j >> k) & 1) != 0 ? 1 : -1);
                logits[j] = 2 * dot / temperature;
            }
            double[] logp = Ref.softmax(logits, codes, true);
            for (int j = 0; j < codes; j++) {
                double pj = Math.exp(logp[j]);
                perSample -= pj * logp[j];
                avg[j] += pj / n;
            }
        }
        double codebook = 0;
        for (double a : avg) codebook -= a * Math.log(a + 1e-5);
        return new double[] {perSample / n, codebook};
    }

    @Test
    void lfqEntropyEqualsTheFullSoftmax() {
        Generator gen = new Generator(9);
        // Odd and even bit counts (the low/high split differs), several temperatures (T = 0.01 saturates).
        int[][] configs = {{2, 7, 3}, {1, 6, 5}, {3, 5, 2}};
        for (int[] cfg : configs) {
            for (float temperature : new float[] {1f, 0.1f, 0.01f}) {
                int b = cfg[0], c = cfg[1], hw = cfg[2];
                Tensor z = Tensor.randn(gen, b, c, hw, 1).mul(temperature < 0.05f ? 0.02f : 1f).requiresGrad(true);
                GradCheck.check("lfq entropy C=" + c + " T=" + temperature, in -> Lfq.entropy(in[0], temperature),
                        in -> bruteForceEntropy(in[0], b, c, hw, temperature), 1e-5, 1e-3, z);
            }
        }
    }

    /**
     * At the real size, 18 bits, against the reference formulation itself: PyTorch's softmax over
     * all 2^18 codes in float64 (benchmarks/torch_peer.py, check_formula) for the deterministic
     * input z[t][k] = float32(0.02·sin(1.1·t + 2.3·k + 0.5)), 256 tokens.
     */
    @Test
    void lfqEntropyMatchesTheReferenceAtEighteenBits() {
        int tokens = 256, bits = 18;
        float[] z = new float[tokens * bits];
        for (int t = 0; t < tokens; t++) for (int k = 0; k < bits; k++) z[t * bits + k] = (float) (0.02 * Math.sin(1.1 * t + 2.3 * k + 0.5));
        Tensor e = Lfq.entropy(Tensor.of(z, tokens, bits, 1, 1), 0.01f);
        GradCheck.assertClose("per-sample entropy", new double[] {2.4700238890853976}, new double[] {e.get(0)}, 1e-5);
        GradCheck.assertClose("codebook entropy", new double[] {4.7687145150022925}, new double[] {e.get(1)}, 1e-5);
    }

    /** Bytes allocated so far by all live threads (the calling thread and the kernel pool). */
    private static long allocatedBytes() {
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long total = 0;
        for (long b : bean.getThreadAllocatedBytes(bean.getAllThreadIds())) total += Math.max(b, 0);
        return total;
    }

    @Test
    void lfqEntropyNeverBuildsTheCodebookProbabilities() {
        // 18 bits for 4096 tokens: the reference holds 4096 x 262144 floats (4 GiB) several times over.
        Tensor z = Tensor.randn(new Generator(10), 1, 18, 64, 64).requiresGrad(true);
        Lfq.entropy(z, 0.01f); // warm up the pool threads so they exist before counting
        long before = allocatedBytes();
        Tensor e = Lfq.entropy(z, 0.01f);
        e.select(0, 0).sub(e.select(0, 1)).backward();
        long used = allocatedBytes() - before;
        assertTrue(used < 64L << 20, "entropy forward + backward allocated " + (used >> 20) + " MiB");
        assertTrue(Float.isFinite(e.get(0)) && Float.isFinite(e.get(1)) && e.get(1) > 0);
        assertTrue(z.grad().abs().sum().item() > 0);
    }

    @Test
    void commitmentIsMeanSquaredDistanceToTheCode() {
        Tensor z = Tensor.of(new float[] {0.5f, -2f}, 1, 2, 1, 1).requiresGrad(true);
        Lfq.Quantized q = Lfq.quantize(z);
        Tensor c = Lfq.commitment(z, q.values());
        assertTrue(Math.abs(c.item() - (0.25f + 1f) / 2) < 1e-7);
        c.backward();
        assertArrayEquals(new float[] {-0.5f, -1f}, z.grad().toFloatArray(), 1e-7f);
    }

    @Test
    void lfqRejectsTooManyBits() {
        assertThrows(IllegalArgumentException.class, () -> Lfq.quantize(Tensor.zeros(1, 63, 1, 1)));
        assertThrows(IndexOutOfBoundsException.class, () -> Lfq.indicesToCodes(Tensor.ofLongs(new long[] {64}), 6));
    }

    @Test
    void siluIsSwigluWithUnitGate() {
        Tensor a = Tensor.randn(new Generator(11), 20);
        GradCheck.assertClose("silu", Arithmetic.unary(UnaryOp.SILU, a), SwiGlu.apply(a, Tensor.ones(20)), 1e-7);
    }
}
