package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.LfqTokens;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/**
 * Lookup-free quantisation (SPEC.md section 1) of z [B, C, *], one token per (sample, position)
 * with C bits.
 *
 * <p><b>Entropy without the 2^C softmax.</b> The reference scores every code c_j in {-1,+1}^C
 * with logits 2·z·c_j / T and takes a softmax over all 2^C of them. That softmax factorises over
 * bits: p_j = Π_k q_k(bit_k(j)) with q_k(1) = σ(u_k), q_k(0) = σ(-u_k), u_k = 4·z_k / T. Hence
 * <ul>
 * <li>per-sample entropy = Σ_k H(u_k), with the binary entropy H(u) = softplus(-|u|) + |u|·σ(-|u|);
 * <li>the batch-average distribution, split into low bits a and high bits b, is
 *     P[b, a] = (1/N) Σ_n B[n, b]·A[n, a] where A, B are each token's outer products of its low
 *     and high bit probabilities: one N x 2^lo by N x 2^hi matrix product, never N x 2^C numbers;
 * <li>codebook entropy = -Σ_j P_j·log(P_j + 1e-5), the reference's +1e-5 included.
 * </ul>
 * The backward runs the product the other way (dA = B·G, dB = A·Gᵀ with G = dCB/dP), then
 * contracts each token's dA and dB to per-bit gradients without dividing by probabilities
 * (which are often exactly 0 at T = 0.01).
 */
final class CpuLfq {

    private CpuLfq() {}

    /** The reference's epsilon inside the codebook entropy's log. */
    private static final double LOG_EPS = 1e-5;
    /**
     * Products below this are set to 0 in A and B: their contribution to the entropy and its
     * gradient is under 1e-29, while as float denormals they would slow the products down.
     */
    private static final float FLUSH = 1e-30f;

    static Tensor[] quantize(Tensor z, int[] groupBits) {
        LfqTokens t = LfqTokens.of(z);
        t.checkGroups(groupBits);
        z = CpuElementwise.dense(z);
        float[] zv = CpuElementwise.floats(z);
        int zo = z.offset();
        int[] tokenShape = Shape.reduced(z.shapeRef(), new int[] {1}, false);  // [B, *]
        Tensor quantized = CpuBackend.allocate(DType.FLOAT32, z.shapeRef());
        float[] qv = CpuElementwise.floats(quantized);
        Tensor[] out = new Tensor[2 + groupBits.length];
        out[0] = quantized;
        long[][] idx = new long[1 + groupBits.length][];
        for (int i = 0; i < idx.length; i++) {
            out[1 + i] = CpuBackend.allocate(DType.INT64, tokenShape);
            idx[i] = ((CpuStorage) out[1 + i].storage()).longs();
        }
        Parallel.forRange(t.count(), 4096, (n0, n1) -> {
            for (int n = n0; n < n1; n++) {
                long index = 0;
                for (int k = 0; k < t.channels(); k++) {
                    int at = t.at(n, k);
                    boolean on = zv[zo + at] > 0f; // 0 maps to -1 (SPEC.md section 1)
                    qv[at] = on ? 1f : -1f;
                    if (on) index |= 1L << k;
                }
                idx[0][n] = index;
                for (int g = 0, shift = 0; g < groupBits.length; shift += groupBits[g], g++) {
                    idx[1 + g][n] = (index >>> shift) & ((1L << groupBits[g]) - 1);
                }
            }
        });
        return out;
    }

    /** Tokens per pass: A, B and their gradients exist for one chunk at a time, so memory does not grow with N. */
    private static final int CHUNK = 1024;

    /**
     * One chunk's per-token bit probabilities (both σ(-u) and σ(u), so the small one is exact)
     * and the outer products A (low bits) and B (high bits); buffers are reused across chunks.
     */
    private static final class Factors {
        final int c, lo, hi, na, nb;
        final float[] a, b;         // [CHUNK][2^lo], [CHUNK][2^hi]
        final double[] q0, q1;      // [CHUNK][C]
        final double[] entropy;     // [CHUNK]: Σ_k H(u_k)

        Factors(int channels) {
            c = channels;
            lo = (c + 1) / 2;
            hi = c - lo;
            na = 1 << lo;
            nb = 1 << hi;
            a = new float[CHUNK * na];
            b = new float[CHUNK * nb];
            q0 = new double[CHUNK * c];
            q1 = new double[CHUNK * c];
            entropy = new double[CHUNK];
        }

        /** Fills the buffers for tokens [first, first + count). */
        void fill(LfqTokens t, float[] zv, int zo, float temperature, int first, int count) {
            double scale = 4.0 / temperature;
            Parallel.forRange(count, 128, (i0, i1) -> {
                double[] prod = new double[Math.max(na, nb)];
                for (int i = i0; i < i1; i++) {
                    double h = 0;
                    for (int k = 0; k < c; k++) {
                        double u = scale * zv[zo + t.at(first + i, k)], au = Math.abs(u);
                        double sNeg = 1.0 / (1.0 + Math.exp(au)); // σ(-|u|)
                        q0[i * c + k] = u >= 0 ? sNeg : 1.0 - sNeg;
                        q1[i * c + k] = u >= 0 ? 1.0 - sNeg : sNeg;
                        h += Math.log1p(Math.exp(-au)) + au * sNeg;
                    }
                    entropy[i] = h;
                    outer(i * c, lo, prod, a, i * na);
                    outer(i * c + lo, hi, prod, b, i * nb);
                }
            });
        }

        /** dst[j] = Π_{k<bits} q_k(bit k of j), tiny products flushed to 0. */
        private void outer(int qo, int bits, double[] prod, float[] dst, int dOff) {
            weights(q0, q1, qo, bits, prod, 0);
            for (int j = 0; j < (1 << bits); j++) {
                float v = (float) prod[j];
                dst[dOff + j] = v < FLUSH ? 0f : v;
            }
        }
    }

    static Tensor[] entropy(Tensor z, float temperature) {
        LfqTokens t = LfqTokens.of(z);
        z = CpuElementwise.dense(z);
        float[] zv = CpuElementwise.floats(z);
        int n = t.count(), zo = z.offset();
        Factors f = new Factors(t.channels());
        // P[b, a] = Σ_chunks Bᵀ[b, n]·A[n, a] / N, laid out so that P[j] is code j = a + b·2^lo.
        float[] p = new float[f.nb * f.na];
        double perSample = 0;
        for (int first = 0; first < n; first += CHUNK) {
            int count = Math.min(CHUNK, n - first);
            f.fill(t, zv, zo, temperature, first, count);
            for (int i = 0; i < count; i++) perSample += f.entropy[i];
            Sgemm.gemm(f.nb, f.na, count, f.b, 0, 1, f.nb, Sgemm.matrix(f.a, 0, f.na, 1), p, 0, f.na, first > 0, null);
        }
        perSample /= n;
        float invN = 1f / n;
        double codebook = 0;
        for (int j = 0; j < p.length; j++) {
            p[j] *= invN;
            codebook -= p[j] * Math.log(p[j] + LOG_EPS);
        }
        return new Tensor[] {CpuBackend.tensor(new float[] {(float) perSample, (float) codebook}, 2), CpuBackend.tensor(p, p.length)};
    }

    static Tensor entropyBackward(Tensor z, Tensor avgProbs, float temperature, float dPerSample, float dCodebook) {
        LfqTokens t = LfqTokens.of(z);
        z = CpuElementwise.dense(z);
        int n = t.count(), c = t.channels();
        float[] zv = CpuElementwise.floats(z);
        int zo = z.offset();
        Factors f = new Factors(c);
        float[] g = null, da = null, db = null;
        if (dCodebook != 0f) {
            // G = dCodebook/N · dCB/dP,  dCB/dP_j = -(log(P_j + eps) + P_j / (P_j + eps)).
            float[] p = CpuElementwise.floats(avgProbs = CpuElementwise.dense(avgProbs));
            int po = avgProbs.offset();
            g = new float[f.nb * f.na];
            for (int j = 0; j < g.length; j++) {
                double pj = p[po + j];
                g[j] = (float) (-(Math.log(pj + LOG_EPS) + pj / (pj + LOG_EPS)) * dCodebook / n);
            }
            da = new float[CHUNK * f.na];
            db = new float[CHUNK * f.nb];
        }
        Tensor dz = CpuBackend.allocate(DType.FLOAT32, z.shapeRef());
        float[] dzv = CpuElementwise.floats(dz);
        double scale = 4.0 / temperature, perToken = dPerSample / (double) n;
        for (int first = 0; first < n; first += CHUNK) {
            int count = Math.min(CHUNK, n - first), base = first;
            f.fill(t, zv, zo, temperature, first, count);
            if (g != null) {
                Sgemm.gemm(count, f.na, f.nb, f.b, 0, f.nb, 1, Sgemm.matrix(g, 0, f.na, 1), da, 0, f.na, false, null);
                Sgemm.gemm(count, f.nb, f.na, f.a, 0, f.na, 1, Sgemm.matrix(g, 0, 1, f.na), db, 0, f.nb, false, null);
            }
            final float[] daF = da, dbF = db;
            Parallel.forRange(count, 64, (i0, i1) -> {
                double[] g0 = new double[c], g1 = new double[c], arena = new double[8 * Math.max(f.na, f.nb)];
                for (int i = i0; i < i1; i++) {
                    if (daF != null) {
                        factorGrads(daF, i * f.na, f.lo, f.q0, f.q1, i * c, g0, g1, 0, arena, 0);
                        factorGrads(dbF, i * f.nb, f.hi, f.q0, f.q1, i * c + f.lo, g0, g1, f.lo, arena, 0);
                    }
                    for (int k = 0; k < c; k++) {
                        int at = t.at(base + i, k);
                        double u = scale * zv[zo + at];
                        double ss = f.q0[i * c + k] * f.q1[i * c + k];       // σ(u)·σ(-u) = dq1/du = -dq0/du
                        double d = perToken * (-u * ss);                     // dH/du = -u·σ(u)·σ(-u)
                        if (daF != null) d += ss * (g1[k] - g0[k]);
                        dzv[at] = (float) (d * scale);
                    }
                }
            });
        }
        return dz;
    }

    /**
     * For F = Σ_j t[j]·Π_{i<m} q_i(bit i of j), with t read from tv at tOff, the partial
     * derivatives dF/dq_i(0) → g0[k0+i] and dF/dq_i(1) → g1[k0+i]. Divide and conquer:
     * contracting t with the high half's factors leaves a tensor over the low bits whose
     * gradients are the low factors' (and vice versa), so the cost is about 2·2^m per level
     * instead of m·2^m. Temporaries live in arena from index free on.
     */
    static void factorGrads(float[] tv, int tOff, int m, double[] q0, double[] q1, int qo, double[] g0, double[] g1, int k0,
                            double[] arena, int free) {
        double[] t = arena;
        int tAt = free;
        for (int j = 0; j < (1 << m); j++) t[tAt + j] = tv[tOff + j];
        contract(arena, tAt, m, q0, q1, qo, g0, g1, k0, tAt + (1 << m));
    }

    private static void contract(double[] arena, int tAt, int m, double[] q0, double[] q1, int qo, double[] g0, double[] g1, int k0, int free) {
        if (m == 1) {
            g0[k0] = arena[tAt];
            g1[k0] = arena[tAt + 1];
            return;
        }
        int h = m / 2, hb = m - h, nl = 1 << h, nh = 1 << hb;
        int wl = free, wh = wl + nl, tl = wh + nh, th = tl + nl, next = th + nh;
        weights(q0, q1, qo, h, arena, wl);
        weights(q0, q1, qo + h, hb, arena, wh);
        java.util.Arrays.fill(arena, tl, tl + nl, 0.0);
        for (int jh = 0; jh < nh; jh++) {
            double sum = 0, w = arena[wh + jh];
            int row = tAt + jh * nl;
            for (int jl = 0; jl < nl; jl++) {
                double v = arena[row + jl];
                arena[tl + jl] += w * v;
                sum += arena[wl + jl] * v;
            }
            arena[th + jh] = sum;
        }
        contract(arena, tl, h, q0, q1, qo, g0, g1, k0, next);
        contract(arena, th, hb, q0, q1, qo + h, g0, g1, k0 + h, next);
    }

    /** w[wAt + j] = Π_{i<bits} q_i(bit i of j), built by doubling. */
    private static void weights(double[] q0, double[] q1, int qo, int bits, double[] w, int wAt) {
        w[wAt] = 1.0;
        for (int k = 0; k < bits; k++) {
            int size = 1 << k;
            double p1 = q1[qo + k], p0 = q0[qo + k];
            for (int j = 0; j < size; j++) {
                w[wAt + j + size] = w[wAt + j] * p1;
                w[wAt + j] *= p0;
            }
        }
    }
}
