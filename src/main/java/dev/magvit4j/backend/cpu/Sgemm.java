package dev.magvit4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply C[M,N] (+)= A[M,K] B[K,N], in the BLIS structure:
 *
 * <pre>
 * for each block of KC rows of B (pc):              B block packed once, shared by all threads
 *   for each block of NC columns (jc):
 *     pack B[pc, jc] into NR-wide panels            [KC][NR] per panel, zero padded
 *     in parallel over tiles of MC rows x some panels:
 *       pack A[ic, pc] into MR-tall panels          [KC][MR] per panel, zero padded
 *       for each A panel, for each B panel: microkernel
 * </pre>
 *
 * The microkernel keeps an MR x NR tile of C in registers (8 rows x 2 vectors: 16 accumulators
 * on AVX-512's 32 registers) and does MR*NR/L fused multiply-adds per step of k. It runs at
 * ~95% of one core's float32 peak here; the vectors live in local variables of one method, which
 * is what lets C2 keep them in registers. The A micro-panel (8 x KC, 16 KB) stays in L1 while
 * the B panels stream from L2/L3; a large KC halves how often C tiles are loaded and stored.
 * (Measured on Zen 4: this order with KC = 512 runs at ~0.9 of one core's peak for 1024³,
 * against ~0.8 for the opposite order with KC = 256, whose 32 KB B panel fills L1 alone.)
 *
 * <p>A is read through (rowStride, colStride), so transposed views cost nothing; B comes from a
 * {@link BPacker}, which lets a convolution pack image patches directly (implicit im2col).
 */
final class Sgemm {

    private Sgemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = 8;
    static final int NR = 2 * L;
    private static final int KC = 512;
    private static final int MC = 128;
    private static final int NC = 4096;

    /** Packs B[k0 .. k0+kc, n0 .. n0+nc] as panels of NR columns: panel p at dst[p*kc*NR], element (k, j) at k*NR + j. */
    interface BPacker {
        void pack(int k0, int kc, int n0, int nc, float[] dst);
    }

    /** B read from memory with the given strides. */
    static BPacker matrix(float[] b, int off, int rowStride, int colStride) {
        return (k0, kc, n0, nc, dst) -> {
            int panels = (nc + NR - 1) / NR;
            Parallel.forRange(panels, 1, (p0, p1) -> {
                for (int p = p0; p < p1; p++) {
                    int n = n0 + p * NR, w = Math.min(NR, n0 + nc - n), base = p * kc * NR;
                    if (colStride == 1) {
                        for (int k = 0; k < kc; k++) {
                            int src = off + (k0 + k) * rowStride + n, d = base + k * NR;
                            if (w == NR) {
                                FloatVector.fromArray(S, b, src).intoArray(dst, d);
                                FloatVector.fromArray(S, b, src + L).intoArray(dst, d + L);
                            } else {
                                for (int j = 0; j < NR; j++) dst[d + j] = j < w ? b[src + j] : 0f;
                            }
                        }
                    } else {
                        for (int j = 0; j < NR; j++) {
                            if (j < w) {
                                int src = off + (k0) * rowStride + (n + j) * colStride;
                                for (int k = 0; k < kc; k++) dst[base + k * NR + j] = b[src + k * rowStride];
                            } else {
                                for (int k = 0; k < kc; k++) dst[base + k * NR + j] = 0f;
                            }
                        }
                    }
                }
            });
        };
    }

    /** A bias added to C when it is first written: one value per column (linear layers) or per row (convolutions). */
    record Bias(float[] values, int offset, boolean perRow) {
        static Bias columns(float[] values, int offset) {
            return values == null ? null : new Bias(values, offset, false);
        }

        static Bias rows(float[] values, int offset) {
            return values == null ? null : new Bias(values, offset, true);
        }

        float at(int row, int col) {
            return values[offset + (perRow ? row : col)];
        }
    }

    private static final ThreadLocal<float[]> PACK_A = ThreadLocal.withInitial(() -> new float[MC * KC]);
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[MR * NR]);
    private static final ThreadLocal<float[]> PACK_B = new ThreadLocal<>();

    /**
     * C[M,N] = A·B (+ bias), or C += A·B when accumulate. A is at a[aOff + i*aRs + k*aCs];
     * C is row-major with leading dimension ldc. bias may be null.
     */
    static void gemm(int m, int n, int k, float[] a, int aOff, int aRs, int aCs, BPacker b,
                     float[] c, int cOff, int ldc, boolean accumulate, Bias bias) {
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) c[cOff + i * ldc + j] = bias == null ? 0f : bias.at(i, j);
                }
            }
            return;
        }
        int ncMax = Math.min(NC, roundUp(n, NR));
        float[] packedB = PACK_B.get();
        if (packedB == null || packedB.length < KC * ncMax) {
            packedB = new float[KC * ncMax];
            PACK_B.set(packedB);
        }
        final float[] pb = packedB;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            boolean acc = accumulate || pc > 0;
            Bias bs = pc == 0 ? bias : null;
            for (int jc = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                b.pack(pc, kc, jc, nc, pb);
                int mBlocks = (m + MC - 1) / MC, nPanels = (nc + NR - 1) / NR;
                // Enough tasks for every thread: split the panels of B when A has few row blocks.
                int nSplit = Math.max(1, Math.min(nPanels, (2 * Parallel.threads() + mBlocks - 1) / mBlocks));
                final int jcf = jc, pcf = pc;
                Parallel.forRange(mBlocks * nSplit, 1, (t0, t1) -> {
                    float[] pa = PACK_A.get();
                    int packedBlock = -1;
                    for (int t = t0; t < t1; t++) {
                        int ib = t / nSplit, s = t % nSplit;
                        int ic = ib * MC, mc = Math.min(MC, m - ic);
                        if (packedBlock != ib) {
                            packA(a, aOff + ic * aRs + pcf * aCs, aRs, aCs, mc, kc, pa);
                            packedBlock = ib;
                        }
                        int p0 = nPanels * s / nSplit, p1 = nPanels * (s + 1) / nSplit;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int h = Math.min(MR, mc - ir);
                            for (int p = p0; p < p1; p++) {
                                int j = jcf + p * NR, w = Math.min(NR, n - j);
                                int cAt = cOff + (ic + ir) * ldc + j;
                                if (h == MR && w == NR) kernel(pa, ir * kc, pb, p * kc * NR, kc, c, cAt, ldc, acc, bs, ic + ir, j);
                                else edgeTile(pa, ir * kc, pb, p * kc * NR, kc, c, cAt, ldc, acc, bs, ic + ir, j, h, w);
                            }
                        }
                    }
                });
            }
        }
    }

    /** A tile cut by the edge of C (h < MR rows or w < NR columns): computed whole into a buffer, then copied. */
    private static void edgeTile(float[] pa, int ao, float[] pb, int bo, int kc, float[] c, int cAt, int ldc,
                                 boolean accumulate, Bias bias, int row, int col, int h, int w) {
        float[] edge = EDGE.get();
        kernel(pa, ao, pb, bo, kc, edge, 0, NR, false, null, 0, 0);
        for (int r = 0; r < h; r++) {
            for (int q = 0; q < w; q++) {
                float v = edge[r * NR + q];
                int at = cAt + r * ldc + q;
                c[at] = accumulate ? c[at] + v : (bias == null ? v : v + bias.at(row + r, col + q));
            }
        }
    }

    /** Packs rows of A into MR-tall panels: panel i at dst[i*kc*MR], element (k, r) at k*MR + r. */
    private static void packA(float[] a, int off, int rs, int cs, int mc, int kc, float[] dst) {
        for (int i0 = 0; i0 < mc; i0 += MR) {
            int base = i0 * kc, h = Math.min(MR, mc - i0);
            if (rs == 1 && h == MR) {
                // A transposed (a weight gradient's gᵀ): the MR rows of one k are adjacent in memory.
                for (int k = 0, src = off + i0; k < kc; k++, src += cs) {
                    for (int r = 0; r < MR; r++) dst[base + k * MR + r] = a[src + r];
                }
                continue;
            }
            if (cs == 1 && h == MR) {
                // A row-major (activations): read the MR rows side by side, write each k's MR values contiguously.
                int s0 = off + i0 * rs;
                for (int k = 0; k < kc; k++) {
                    int d = base + k * MR, s = s0 + k;
                    dst[d] = a[s];
                    dst[d + 1] = a[s + rs];
                    dst[d + 2] = a[s + 2 * rs];
                    dst[d + 3] = a[s + 3 * rs];
                    dst[d + 4] = a[s + 4 * rs];
                    dst[d + 5] = a[s + 5 * rs];
                    dst[d + 6] = a[s + 6 * rs];
                    dst[d + 7] = a[s + 7 * rs];
                }
                continue;
            }
            for (int r = 0; r < MR; r++) {
                if (r < h) {
                    int src = off + (i0 + r) * rs;
                    for (int k = 0; k < kc; k++) dst[base + k * MR + r] = a[src + k * cs];
                } else {
                    for (int k = 0; k < kc; k++) dst[base + k * MR + r] = 0f;
                }
            }
        }
    }

    /** The MR x NR tile at (row, col) of C: c = a_panel · b_panel (+ bias), or c += when accumulate. */
    private static void kernel(float[] a, int ao, float[] b, int bo, int kc, float[] c, int co, int ldc,
                               boolean accumulate, Bias bias, int row, int col) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int bk = bo + k * NR, ak = ao + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L);
            FloatVector x = FloatVector.broadcast(S, a[ak]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, a[ak + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, a[ak + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, a[ak + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, a[ak + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, a[ak + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(S, a[ak + 6]);
            c60 = b0.fma(x, c60); c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(S, a[ak + 7]);
            c70 = b0.fma(x, c70); c71 = b1.fma(x, c71);
        }
        if (accumulate) {
            c00 = c00.add(FloatVector.fromArray(S, c, co)); c01 = c01.add(FloatVector.fromArray(S, c, co + L)); co += ldc;
            c10 = c10.add(FloatVector.fromArray(S, c, co)); c11 = c11.add(FloatVector.fromArray(S, c, co + L)); co += ldc;
            c20 = c20.add(FloatVector.fromArray(S, c, co)); c21 = c21.add(FloatVector.fromArray(S, c, co + L)); co += ldc;
            c30 = c30.add(FloatVector.fromArray(S, c, co)); c31 = c31.add(FloatVector.fromArray(S, c, co + L)); co += ldc;
            c40 = c40.add(FloatVector.fromArray(S, c, co)); c41 = c41.add(FloatVector.fromArray(S, c, co + L)); co += ldc;
            c50 = c50.add(FloatVector.fromArray(S, c, co)); c51 = c51.add(FloatVector.fromArray(S, c, co + L)); co += ldc;
            c60 = c60.add(FloatVector.fromArray(S, c, co)); c61 = c61.add(FloatVector.fromArray(S, c, co + L)); co += ldc;
            c70 = c70.add(FloatVector.fromArray(S, c, co)); c71 = c71.add(FloatVector.fromArray(S, c, co + L));
            co -= 7 * ldc;
        } else if (bias != null && bias.perRow()) {
            float[] bv = bias.values();
            int r = bias.offset() + row;
            c00 = c00.add(bv[r]); c01 = c01.add(bv[r]); c10 = c10.add(bv[r + 1]); c11 = c11.add(bv[r + 1]);
            c20 = c20.add(bv[r + 2]); c21 = c21.add(bv[r + 2]); c30 = c30.add(bv[r + 3]); c31 = c31.add(bv[r + 3]);
            c40 = c40.add(bv[r + 4]); c41 = c41.add(bv[r + 4]); c50 = c50.add(bv[r + 5]); c51 = c51.add(bv[r + 5]);
            c60 = c60.add(bv[r + 6]); c61 = c61.add(bv[r + 6]); c70 = c70.add(bv[r + 7]); c71 = c71.add(bv[r + 7]);
        } else if (bias != null) {
            int o = bias.offset() + col;
            FloatVector z0 = FloatVector.fromArray(S, bias.values(), o), z1 = FloatVector.fromArray(S, bias.values(), o + L);
            c00 = c00.add(z0); c01 = c01.add(z1); c10 = c10.add(z0); c11 = c11.add(z1);
            c20 = c20.add(z0); c21 = c21.add(z1); c30 = c30.add(z0); c31 = c31.add(z1);
            c40 = c40.add(z0); c41 = c41.add(z1); c50 = c50.add(z0); c51 = c51.add(z1);
            c60 = c60.add(z0); c61 = c61.add(z1); c70 = c70.add(z0); c71 = c71.add(z1);
        }
        c00.intoArray(c, co); c01.intoArray(c, co + L); co += ldc;
        c10.intoArray(c, co); c11.intoArray(c, co + L); co += ldc;
        c20.intoArray(c, co); c21.intoArray(c, co + L); co += ldc;
        c30.intoArray(c, co); c31.intoArray(c, co + L); co += ldc;
        c40.intoArray(c, co); c41.intoArray(c, co + L); co += ldc;
        c50.intoArray(c, co); c51.intoArray(c, co + L); co += ldc;
        c60.intoArray(c, co); c61.intoArray(c, co + L); co += ldc;
        c70.intoArray(c, co); c71.intoArray(c, co + L);
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }
}
