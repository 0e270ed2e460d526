package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.NormChecks;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * GroupNorm (with per-channel or per-sample-and-channel affine, which makes it also the
 * adaptive GroupNorm of the decoder) and RMSNorm, forward and backward.
 *
 * <p>A group of one sample is a contiguous block of (C/G)·HW floats: statistics take two
 * passes over it (mean, then squared deviations: no cancellation), and the output pass applies
 * one fused multiply-add per element, y = x·a_c + b_c with a_c = rstd·scale_c and
 * b_c = shift_c - mean·a_c. A block of the tokenizer's sizes fits in L2, so the re-reads are cheap.
 */
final class CpuNorm {

    private CpuNorm() {}

    private static final VectorSpecies<Float> S = CpuElementwise.S;
    private static final int L = S.length();
    /** Rows per partial sum of RMSNorm's weight gradient (fixed, so results do not depend on the thread count). */
    private static final int ROWS_PER_PARTIAL = 64;

    /** The affine tables of one call, read as y = x·a_c + b_c per (sample, channel) once the statistics are known. */
    private record Affine(float[] scale, int scaleOff, boolean scalePerSample, float[] shift, int shiftOff, boolean shiftPerSample, int channels) {
        static Affine of(Tensor scale, Tensor shift, int channels) {
            scale = scale == null ? null : CpuElementwise.dense(scale);
            shift = shift == null ? null : CpuElementwise.dense(shift);
            return new Affine(scale == null ? null : CpuElementwise.floats(scale), scale == null ? 0 : scale.offset(), scale != null && scale.dim() == 2,
                    shift == null ? null : CpuElementwise.floats(shift), shift == null ? 0 : shift.offset(), shift != null && shift.dim() == 2, channels);
        }

        float gamma(int b, int c) {
            return scale == null ? 1f : scale[scaleOff + (scalePerSample ? b * channels + c : c)];
        }

        float beta(int b, int c) {
            return shift == null ? 0f : shift[shiftOff + (shiftPerSample ? b * channels + c : c)];
        }
    }

    static Tensor[] groupNorm(Tensor x, int groups, float eps, Tensor scale, Tensor shift, boolean silu) {
        NormChecks.groupNorm(x, groups, scale, shift);
        int[] shape = x.shapeRef();
        int batch = shape[0], channels = shape[1];
        x = CpuElementwise.dense(x);
        Affine affine = Affine.of(scale, shift, channels);
        int hw = x.numel() / Math.max(1, batch * channels), cpg = channels / groups, n = cpg * hw;
        Tensor y = CpuBackend.allocate(DType.FLOAT32, shape);
        Tensor mean = CpuBackend.allocate(DType.FLOAT32, new int[] {batch, groups});
        Tensor rstd = CpuBackend.allocate(DType.FLOAT32, new int[] {batch, groups});
        float[] xv = CpuElementwise.floats(x), yv = CpuElementwise.floats(y), mv = CpuElementwise.floats(mean), rv = CpuElementwise.floats(rstd);
        int xo = x.offset();
        Parallel.forRange(batch * groups, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int b = t / groups, g = t % groups, base = xo + t * n;
                float mu = sum(xv, base, n, 0f, false) / n;
                float var = sum(xv, base, n, mu, true) / n;
                float r = (float) (1.0 / Math.sqrt(var + eps));
                mv[t] = mu;
                rv[t] = r;
                for (int cc = 0; cc < cpg; cc++) {
                    int c = g * cpg + cc;
                    float a = r * affine.gamma(b, c), sft = affine.beta(b, c) - mu * a;
                    int at = base + cc * hw, out = t * n + cc * hw;
                    for (int i = 0; i < hw; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, hw);
                        FloatVector v = FloatVector.fromArray(S, xv, at + i, m).fma(a, sft);
                        if (silu) v = v.mul(VectorMath.sigmoid(v));
                        v.intoArray(yv, out + i, m);
                    }
                }
            }
        });
        return new Tensor[] {y, mean, rstd};
    }

    /**
     * Σ x (squared=false, shift ignored) or Σ (x - shift)² (squared=true) over a contiguous block,
     * with four independent accumulator chains so the adds' latency does not bound the loop.
     */
    private static float sum(float[] a, int off, int n, float shift, boolean squared) {
        FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            FloatVector v0 = FloatVector.fromArray(S, a, off + i), v1 = FloatVector.fromArray(S, a, off + i + L);
            FloatVector v2 = FloatVector.fromArray(S, a, off + i + 2 * L), v3 = FloatVector.fromArray(S, a, off + i + 3 * L);
            if (squared) {
                v0 = v0.sub(shift);
                v1 = v1.sub(shift);
                v2 = v2.sub(shift);
                v3 = v3.sub(shift);
                acc0 = v0.fma(v0, acc0);
                acc1 = v1.fma(v1, acc1);
                acc2 = v2.fma(v2, acc2);
                acc3 = v3.fma(v3, acc3);
            } else {
                acc0 = acc0.add(v0);
                acc1 = acc1.add(v1);
                acc2 = acc2.add(v2);
                acc3 = acc3.add(v3);
            }
        }
        for (; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(S, a, off + i, m);
            if (squared) {
                v = v.sub(shift).blend(0f, m.not());
                acc0 = v.fma(v, acc0);
            } else {
                acc0 = acc0.add(v);
            }
        }
        return VectorMath.sum(acc0.add(acc1).add(acc2.add(acc3)));
    }

    /**
     * With x̂ = (x - mean)·rstd and g = dy·scale_c: dx = rstd·(g - mean(g) - x̂·mean(g·x̂)) over the
     * group; dscale_c = Σ dy·x̂ and dshift_c = Σ dy over the channel (and over samples for [C] tables).
     */
    static Tensor[] groupNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor rstd, int groups, Tensor scale, Tensor shift, boolean silu) {
        NormChecks.groupNormBackward(dy, x, mean, rstd, groups, scale, shift);
        int[] shape = x.shapeRef();
        int batch = shape[0], channels = shape[1];
        x = CpuElementwise.dense(x);
        dy = CpuElementwise.dense(dy);
        mean = CpuElementwise.dense(mean);
        rstd = CpuElementwise.dense(rstd);
        Affine affine = Affine.of(scale, shift, channels);
        int hw = x.numel() / Math.max(1, batch * channels), cpg = channels / groups, n = cpg * hw;
        float[] xv = CpuElementwise.floats(x), gv = CpuElementwise.floats(dy), mv = CpuElementwise.floats(mean), rv = CpuElementwise.floats(rstd);
        int xo = x.offset(), go = dy.offset(), mo = mean.offset(), ro = rstd.offset();
        Tensor dx = CpuBackend.allocate(DType.FLOAT32, shape);
        float[] dxv = CpuElementwise.floats(dx);
        // Per (sample, channel): Σ g and Σ g·x̂, g the gradient of the normalised output, for the affine gradients and the group sums.
        float[] sumDy = new float[batch * channels], sumDyXhat = new float[batch * channels];
        Parallel.forRange(batch * groups, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int b = t / groups, g = t % groups, base = t * n;
                float mu = mv[mo + t], r = rv[ro + t];
                float s1 = 0f, s2 = 0f;
                for (int cc = 0; cc < cpg; cc++) {
                    int c = g * cpg + cc, at = base + cc * hw;
                    float gamma = affine.gamma(b, c), a = r * gamma, sft = affine.beta(b, c) - mu * a;
                    FloatVector aDy = FloatVector.zero(S), aDyX = aDy;
                    for (int i = 0; i < hw; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, hw);
                        FloatVector xx = FloatVector.fromArray(S, xv, xo + at + i, m);
                        FloatVector d = outputGradient(FloatVector.fromArray(S, gv, go + at + i, m), xx, a, sft, silu);
                        aDy = aDy.add(d);
                        aDyX = d.fma(xx, aDyX);
                    }
                    float sDy = VectorMath.sum(aDy);
                    float sDyXhat = r * (VectorMath.sum(aDyX) - mu * sDy);
                    sumDy[b * channels + c] = sDy;
                    sumDyXhat[b * channels + c] = sDyXhat;
                    s1 += gamma * sDy;
                    s2 += gamma * sDyXhat;
                }
                float m1 = s1 / n, m2 = s2 / n;
                for (int cc = 0; cc < cpg; cc++) {
                    int c = g * cpg + cc, at = base + cc * hw;
                    float gamma = affine.gamma(b, c), a = r * gamma, sft = affine.beta(b, c) - mu * a;
                    // dx = r·γ·g + (-r·m2·r)·(x - mu) - r·m1 = A·g + B·x + C
                    float ca = r * gamma, cb = -r * r * m2, cc0 = -r * m1 - cb * mu;
                    for (int i = 0; i < hw; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, hw);
                        FloatVector xx = FloatVector.fromArray(S, xv, xo + at + i, m);
                        FloatVector d = outputGradient(FloatVector.fromArray(S, gv, go + at + i, m), xx, a, sft, silu);
                        d.mul(ca).add(xx.fma(cb, cc0)).intoArray(dxv, at + i, m);
                    }
                }
            }
        });
        Tensor dscale = scale == null ? null : CpuBackend.tensor(sumDyXhat, batch, channels);
        Tensor dshift = shift == null ? null : CpuBackend.tensor(sumDy, batch, channels);
        return new Tensor[] {dx, dscale, dshift};
    }

    /**
     * The gradient of the normalised output y = x·a + b from the incoming dy: dy itself, or with
     * the fused silu, dy·silu'(y) = dy·σ(y)·(1 + y·(1 - σ(y))), y recomputed.
     */
    private static FloatVector outputGradient(FloatVector dy, FloatVector x, float a, float b, boolean silu) {
        if (!silu) return dy;
        FloatVector y = x.fma(a, b), s = VectorMath.sigmoid(y);
        return dy.mul(s.mul(y.mul(s.neg().add(1f)).add(1f)));
    }

    static Tensor[] rmsNorm(Tensor x, Tensor weight, float eps) {
        NormChecks.rmsNorm(x, weight);
        int d = x.size(-1);
        x = CpuElementwise.dense(x);
        weight = CpuElementwise.dense(weight);
        int rows = x.numel() / Math.max(d, 1);
        Tensor y = CpuBackend.allocate(DType.FLOAT32, x.shapeRef());
        Tensor rstd = CpuBackend.allocate(DType.FLOAT32, Shape.reduced(x.shapeRef(), new int[] {x.dim() - 1}, false));
        float[] xv = CpuElementwise.floats(x), wv = CpuElementwise.floats(weight), yv = CpuElementwise.floats(y), rv = CpuElementwise.floats(rstd);
        int xo = x.offset(), wo = weight.offset();
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(d, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int at = xo + r * d;
                float ms = sum(xv, at, d, 0f, true) / d;
                float rs = (float) (1.0 / Math.sqrt(ms + eps));
                rv[r] = rs;
                for (int i = 0; i < d; i += L) {
                    VectorMask<Float> m = S.indexInRange(i, d);
                    FloatVector.fromArray(S, xv, at + i, m).mul(rs).mul(FloatVector.fromArray(S, wv, wo + i, m)).intoArray(yv, r * d + i, m);
                }
            }
        });
        return new Tensor[] {y, rstd};
    }

    /** dx = r·(dy·w) - x·r³·mean(dy·w·x);  dw = Σ_rows dy·x·r. */
    static Tensor[] rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd) {
        NormChecks.rmsNormBackward(dy, x, weight, rstd);
        int d = x.size(-1);
        x = CpuElementwise.dense(x);
        dy = CpuElementwise.dense(dy);
        weight = CpuElementwise.dense(weight);
        rstd = CpuElementwise.dense(rstd);
        int rows = x.numel() / Math.max(d, 1);
        float[] xv = CpuElementwise.floats(x), gv = CpuElementwise.floats(dy), wv = CpuElementwise.floats(weight), rv = CpuElementwise.floats(rstd);
        int xo = x.offset(), go = dy.offset(), wo = weight.offset(), ro = rstd.offset();
        Tensor dx = CpuBackend.allocate(DType.FLOAT32, x.shapeRef());
        float[] dxv = CpuElementwise.floats(dx);
        // dw partial sums over fixed blocks of rows, added in block order: the same bits for any thread count.
        int blocks = (rows + ROWS_PER_PARTIAL - 1) / ROWS_PER_PARTIAL;
        float[][] partial = new float[blocks][];
        Parallel.forRange(blocks, 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                float[] dw = new float[d];
                partial[c] = dw;
                for (int r = c * ROWS_PER_PARTIAL; r < Math.min(rows, (c + 1) * ROWS_PER_PARTIAL); r++) {
                    int xa = xo + r * d, ga = go + r * d;
                    float rs = rv[ro + r];
                    FloatVector dot = FloatVector.zero(S);
                    for (int i = 0; i < d; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, d);
                        FloatVector gw = FloatVector.fromArray(S, gv, ga + i, m).mul(FloatVector.fromArray(S, wv, wo + i, m));
                        dot = gw.fma(FloatVector.fromArray(S, xv, xa + i, m), dot);
                    }
                    float k = -rs * rs * rs * VectorMath.sum(dot) / d;
                    for (int i = 0; i < d; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, d);
                        FloatVector g = FloatVector.fromArray(S, gv, ga + i, m);
                        FloatVector xx = FloatVector.fromArray(S, xv, xa + i, m);
                        g.mul(FloatVector.fromArray(S, wv, wo + i, m)).mul(rs).add(xx.mul(k)).intoArray(dxv, r * d + i, m);
                        g.mul(xx).mul(rs).add(FloatVector.fromArray(S, dw, i, m)).intoArray(dw, i, m);
                    }
                }
            }
        });
        float[] dw = new float[d];
        for (float[] p : partial) if (p != null) for (int i = 0; i < d; i++) dw[i] += p[i];
        return new Tensor[] {dx, CpuBackend.tensor(dw, d)};
    }
}
