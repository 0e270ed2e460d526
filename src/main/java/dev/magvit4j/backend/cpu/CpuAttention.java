package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.AttentionGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.util.Arrays;

/**
 * Scaled dot-product attention, one block of query rows at a time: for each (batch, head) and
 * block of BLOCK queries, S = Q_blk·Kᵀ·scale over the keys the block can see, a row softmax
 * (its log-sum-exp saved for the backward), O_blk = P·V. Only one BLOCK x Tk score matrix per
 * thread exists at any time, never Tq x Tk.
 *
 * <p>Query i sits at key position i + (Tk - Tq), so with a key/value cache the new queries
 * attend to the cached keys and causally among themselves. The backward recomputes P from the
 * saved log-sum-exp: dV += Pᵀ·dO, dS = P∘(dO·Vᵀ - rowsum(dO∘O)), dQ = dS·K·scale,
 * dK += dSᵀ·Q·scale.
 */
final class CpuAttention {

    private CpuAttention() {}

    private static final int BLOCK = 64;

    /** The mask's elements as bytes of a contiguous copy (as AttentionGeometry.visible reads them), or null. */
    private static byte[] maskBytes(Tensor mask) {
        if (mask == null) return null;
        Tensor dense = CpuBackend.allocate(DType.BOOL, mask.shapeRef());
        CpuCopy.copy(mask, dense);
        return ((CpuStorage) dense.storage()).bytes();
    }

    static Tensor[] forward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        AttentionGeometry g = AttentionGeometry.of(q, k, v, mask, causal);
        byte[] bits = maskBytes(mask);
        q = CpuElementwise.dense(q);
        // Keys and values may be views of a longer key/value cache: read in place, no copy.
        final Tensor kr = packedRows(k), vr = packedRows(v);
        float[] qv = CpuElementwise.floats(q), kv = CpuElementwise.floats(kr), vv = CpuElementwise.floats(vr);
        int qo = q.offset(), d = g.d();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, q.shapeRef());
        Tensor lse = CpuBackend.allocate(DType.FLOAT32, new int[] {g.batch(), g.heads(), g.tq()});
        float[] ov = CpuElementwise.floats(out), lv = CpuElementwise.floats(lse);
        if (g.tk() <= FEW_KEYS && bits == null) {
            fewKeysForward(g, qv, qo, kr, kv, vr, vv, ov, lv, scale);
            return new Tensor[] {out, lse};
        }
        int blocks = (g.tq() + BLOCK - 1) / BLOCK;
        Parallel.forRange(g.batch() * g.heads() * blocks, 1, (t0, t1) -> {
            float[] s = new float[BLOCK * g.tk()];
            for (int t = t0; t < t1; t++) {
                int bh = t / blocks, r0 = (t % blocks) * BLOCK, r1 = Math.min(g.tq(), r0 + BLOCK), rows = r1 - r0;
                int b = bh / g.heads(), h = bh % g.heads(), keys = g.keysFor(r1);
                int qBase = qo + (bh * g.tq() + r0) * d, kBase = headBase(kr, b, h), vBase = headBase(vr, b, h);
                Sgemm.gemm(rows, keys, d, qv, qBase, d, 1, Sgemm.matrix(kv, kBase, 1, d), s, 0, keys, false, null);
                for (int r = 0; r < rows; r++) {
                    int i = r0 + r, row = r * keys, limit = Math.min(keys, g.limit(i));
                    float mx = bits == null ? scaleAndMax(s, row, limit, scale) : maskedScaleAndMax(g, bits, b, h, i, s, row, keys, scale);
                    int width = bits == null ? limit : keys;
                    if (mx == Float.NEGATIVE_INFINITY) {           // nothing visible: output 0
                        Arrays.fill(s, row, row + keys, 0f);
                        lv[bh * g.tq() + i] = Float.NEGATIVE_INFINITY;
                        continue;
                    }
                    float sum = CpuSoftmax.sumExp(s, row, width, mx, s, row);
                    scale(s, row, width, 1f / sum);
                    Arrays.fill(s, row + width, row + keys, 0f);
                    lv[bh * g.tq() + i] = mx + (float) Math.log(sum);
                }
                Sgemm.gemm(rows, d, keys, s, 0, keys, 1, Sgemm.matrix(vv, vBase, d, 1), ov, (bh * g.tq() + r0) * d, d, false, null);
            }
        });
        return new Tensor[] {out, lse};
    }

    /** t itself when each (batch, head) holds its rows back to back ([.., .., T, D] with strides [.., .., D, 1]), else a dense copy. */
    private static Tensor packedRows(Tensor t) {
        boolean packed = t.dtype() == DType.FLOAT32 && (t.stride(3) == 1 || t.size(3) == 1) && (t.stride(2) == t.size(3) || t.size(2) == 1);
        return packed ? t : CpuElementwise.dense(t);
    }

    /** Offset of row 0 of (batch b, head h) in a tensor of packed rows. */
    private static int headBase(Tensor t, int b, int h) {
        return t.offset() + b * (t.size(0) == 1 ? 0 : t.stride(0)) + h * (t.size(1) == 1 ? 0 : t.stride(1));
    }

    static Tensor[] backward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout, Tensor mask, boolean causal, float scale) {
        AttentionGeometry g = AttentionGeometry.of(q, k, v, mask, causal);
        byte[] bits = maskBytes(mask);
        q = CpuElementwise.dense(q);
        k = CpuElementwise.dense(k);
        v = CpuElementwise.dense(v);
        out = CpuElementwise.dense(out);
        lse = CpuElementwise.dense(lse);
        dout = CpuElementwise.dense(dout);
        float[] qv = CpuElementwise.floats(q), kv = CpuElementwise.floats(k), vv = CpuElementwise.floats(v);
        float[] ov = CpuElementwise.floats(out), lv = CpuElementwise.floats(lse), gv = CpuElementwise.floats(dout);
        int qo = q.offset(), ko = k.offset(), vo = v.offset(), oo = out.offset(), lo = lse.offset(), go = dout.offset(), d = g.d();
        Tensor dq = CpuBackend.allocate(DType.FLOAT32, q.shapeRef());
        Tensor dk = CpuBackend.allocate(DType.FLOAT32, k.shapeRef());
        Tensor dv = CpuBackend.allocate(DType.FLOAT32, v.shapeRef());
        float[] dqv = CpuElementwise.floats(dq), dkv = CpuElementwise.floats(dk), dvv = CpuElementwise.floats(dv);
        if (g.tk() <= FEW_KEYS && bits == null) {
            fewKeysBackward(g, qv, qo, kv, ko, vv, vo, ov, oo, lv, lo, gv, go, dqv, dkv, dvv, scale);
            return new Tensor[] {dq, dk, dv};
        }
        // Whole (batch, head) pairs per task: dK and dV of a pair accumulate over its query blocks.
        Parallel.forRange(g.batch() * g.heads(), 1, (t0, t1) -> {
            float[] p = new float[BLOCK * g.tk()], ds = new float[BLOCK * g.tk()];
            for (int bh = t0; bh < t1; bh++) {
                int b = bh / g.heads(), h = bh % g.heads(), kBase = ko + bh * g.tk() * d, vBase = vo + bh * g.tk() * d;
                for (int r0 = 0; r0 < g.tq(); r0 += BLOCK) {
                    int r1 = Math.min(g.tq(), r0 + BLOCK), rows = r1 - r0, keys = g.keysFor(r1);
                    int qRow = (bh * g.tq() + r0) * d;
                    Sgemm.gemm(rows, keys, d, qv, qo + qRow, d, 1, Sgemm.matrix(kv, kBase, 1, d), p, 0, keys, false, null);
                    Sgemm.gemm(rows, keys, d, gv, go + qRow, d, 1, Sgemm.matrix(vv, vBase, 1, d), ds, 0, keys, false, null);
                    for (int r = 0; r < rows; r++) {
                        int i = r0 + r, row = r * keys;
                        float l = lv[lo + bh * g.tq() + i];
                        float di = dot(gv, go + qRow + r * d, ov, oo + qRow + r * d, d);
                        if (l == Float.NEGATIVE_INFINITY) {
                            Arrays.fill(p, row, row + keys, 0f);
                            Arrays.fill(ds, row, row + keys, 0f);
                            continue;
                        }
                        int width = bits == null ? Math.min(keys, g.limit(i)) : keys;
                        probabilitiesAndScoreGradient(p, ds, row, width, scale, l, di);
                        if (bits != null) {
                            for (int j = 0; j < keys; j++) {
                                if (!g.visible(bits, b, h, i, j)) {
                                    p[row + j] = 0f;
                                    ds[row + j] = 0f;
                                }
                            }
                        }
                        Arrays.fill(p, row + width, row + keys, 0f);
                        Arrays.fill(ds, row + width, row + keys, 0f);
                    }
                    Sgemm.gemm(rows, d, keys, ds, 0, keys, 1, Sgemm.matrix(kv, kBase, d, 1), dqv, qRow, d, false, null);
                    Sgemm.gemm(keys, d, rows, ds, 0, 1, keys, Sgemm.matrix(qv, qo + qRow, d, 1), dkv, bh * g.tk() * d, d, true, null);
                    Sgemm.gemm(keys, d, rows, p, 0, 1, keys, Sgemm.matrix(gv, go + qRow, d, 1), dvv, bh * g.tk() * d, d, true, null);
                }
            }
        });
        return new Tensor[] {dq, dk, dv};
    }

    // ------------------------------------------------------------------ few keys

    /**
     * At most this many keys (the AR model's two-position intra sequences): rows are computed
     * one by one with dot products, since the blocked path's matrix-multiply set-up would cost
     * more than the arithmetic.
     */
    private static final int FEW_KEYS = 8;

    private static void fewKeysForward(AttentionGeometry g, float[] qv, int qo, Tensor kr, float[] kv, Tensor vr, float[] vv, float[] ov, float[] lv, float scale) {
        int d = g.d();
        Parallel.forRange(g.batch() * g.heads(), Math.max(1, 4096 / (g.tq() * g.tk() * d + 1)), (t0, t1) -> {
            float[] p = new float[g.tk()];
            for (int bh = t0; bh < t1; bh++) {
                int b = bh / g.heads(), h = bh % g.heads(), kBase = headBase(kr, b, h), vBase = headBase(vr, b, h);
                for (int i = 0; i < g.tq(); i++) {
                    int qRow = qo + (bh * g.tq() + i) * d, oRow = (bh * g.tq() + i) * d, limit = g.limit(i);
                    Arrays.fill(ov, oRow, oRow + d, 0f);
                    if (limit <= 0) {
                        lv[bh * g.tq() + i] = Float.NEGATIVE_INFINITY;
                        continue;
                    }
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < limit; j++) {
                        p[j] = dot(qv, qRow, kv, kBase + j * d, d) * scale;
                        mx = Math.max(mx, p[j]);
                    }
                    float sum = 0f;
                    for (int j = 0; j < limit; j++) sum += p[j] = (float) StrictMath.exp(p[j] - mx);
                    for (int j = 0; j < limit; j++) axpy(p[j] / sum, vv, vBase + j * d, ov, oRow, d);
                    lv[bh * g.tq() + i] = mx + (float) StrictMath.log(sum);
                }
            }
        });
    }

    private static void fewKeysBackward(AttentionGeometry g, float[] qv, int qo, float[] kv, int ko, float[] vv, int vo, float[] ov, int oo, float[] lv, int lo,
                                        float[] gv, int go, float[] dqv, float[] dkv, float[] dvv, float scale) {
        int d = g.d();
        // Whole (batch, head) pairs per task: dK and dV of a pair accumulate over its queries.
        Parallel.forRange(g.batch() * g.heads(), Math.max(1, 4096 / (g.tq() * g.tk() * d + 1)), (t0, t1) -> {
            for (int bh = t0; bh < t1; bh++) {
                int kBase = ko + bh * g.tk() * d, vBase = vo + bh * g.tk() * d;
                for (int i = 0; i < g.tq(); i++) {
                    int row = (bh * g.tq() + i) * d, limit = g.limit(i);
                    float l = lv[lo + bh * g.tq() + i];
                    if (l == Float.NEGATIVE_INFINITY) continue;
                    float di = dot(gv, go + row, ov, oo + row, d);
                    for (int j = 0; j < limit; j++) {
                        float pj = (float) StrictMath.exp(dot(qv, qo + row, kv, kBase + j * d, d) * scale - l);
                        float ds = pj * (dot(gv, go + row, vv, vBase + j * d, d) - di) * scale;
                        axpy(pj, gv, go + row, dvv, bh * g.tk() * d + j * d, d);
                        axpy(ds, kv, kBase + j * d, dqv, row, d);
                        axpy(ds, qv, qo + row, dkv, bh * g.tk() * d + j * d, d);
                    }
                }
            }
        });
    }

    /** y[yo .. yo+n) += a·x[xo .. xo+n). */
    private static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector.fromArray(S, x, xo + j, m).fma(FloatVector.broadcast(S, a), FloatVector.fromArray(S, y, yo + j, m)).intoArray(y, yo + j, m);
        }
    }

    // ------------------------------------------------------------------ row kernels

    private static final jdk.incubator.vector.VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** s[row .. row+n) *= scale, returning the maximum (-inf when n is 0). */
    private static float scaleAndMax(float[] s, int row, int n, float scale) {
        FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector x = FloatVector.fromArray(S, s, row + j, m).mul(scale);
            x.intoArray(s, row + j, m);
            mx = mx.max(x.blend(Float.NEGATIVE_INFINITY, m.not()));
        }
        return mx.reduceLanes(VectorOperators.MAX);
    }

    /** With an explicit mask: hidden scores become -inf, the rest are scaled; returns the maximum. */
    private static float maskedScaleAndMax(AttentionGeometry g, byte[] bits, int b, int h, int i, float[] s, int row, int keys, float scale) {
        float mx = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < keys; j++) {
            float x = g.visible(bits, b, h, i, j) ? s[row + j] * scale : Float.NEGATIVE_INFINITY;
            s[row + j] = x;
            if (x > mx) mx = x;
        }
        return mx;
    }

    private static void scale(float[] s, int row, int n, float factor) {
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector.fromArray(S, s, row + j, m).mul(factor).intoArray(s, row + j, m);
        }
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            acc = FloatVector.fromArray(S, a, ao + j, m).fma(FloatVector.fromArray(S, b, bo + j, m), acc);
        }
        return VectorMath.sum(acc);
    }

    /**
     * From raw scores q·kᵀ in p and dO·Vᵀ in ds: p = exp(p·scale - lse), ds = p·(ds - di)·scale,
     * over the first n keys of a row.
     */
    private static void probabilitiesAndScoreGradient(float[] p, float[] ds, int row, int n, float scale, float lse, float di) {
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector pj = VectorMath.exp(FloatVector.fromArray(S, p, row + j, m).mul(scale).sub(lse));
            pj.intoArray(p, row + j, m);
            pj.mul(FloatVector.fromArray(S, ds, row + j, m).sub(di)).mul(scale).intoArray(ds, row + j, m);
        }
    }
}
