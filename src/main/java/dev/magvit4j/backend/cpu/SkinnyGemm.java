package dev.magvit4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * C[M,N] = A[M,K]·Wᵀ (+ bias) for few rows of A and a row-major weight W [N, K]: the products of
 * token-by-token decoding, where every weight is used by only M ≤ {@link #MAX_ROWS} rows and the
 * time is that of streaming W from memory once. {@link Sgemm} would first pack W (reading it,
 * writing a copy, reading that), so here W is read in place: each thread takes a range of W's
 * rows, and for four of them at a time (4·K floats, in L1/L2) computes dot products with four
 * rows of A at once (16 vector accumulators, 8 loads per 16 fused multiply-adds).
 *
 * <p>Every C[i, j] is the same sum whatever M is (lane-wise products accumulated in k order,
 * then a fixed reduction of the lanes), so a row's result does not depend on the rows it is
 * batched with: a sample generated in a batch is the one generated alone.
 */
final class SkinnyGemm {

    private SkinnyGemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Largest M handled here: 16 images with guidance. */
    static final int MAX_ROWS = 32;

    /** a[aOff + i*lda + k] (row i of A), w[wOff + j*ldw + k] (row j of W), c[cOff + i*n + j]. */
    static void gemm(int m, int n, int k, float[] a, int aOff, int lda, float[] w, int wOff, int ldw,
                     float[] c, int cOff, float[] bias, int biasOff) {
        int blocks = (n + 3) / 4;
        // Grain: enough W rows per task to amortise the task, few enough to balance the threads.
        Parallel.forRange(blocks, Math.max(1, 16384 / Math.max(k, 1)), (b0, b1) -> {
            float[] lanes = new float[16 * L];
            for (int blk = b0; blk < b1; blk++) {
                int j = blk * 4, cols = Math.min(4, n - j);
                int i = 0;
                if (cols == 4 && k % L == 0) {
                    for (; i + 4 <= m; i += 4) tile4x4(k, a, aOff + i * lda, lda, w, wOff + j * ldw, ldw, c, cOff + i * n + j, n, bias, biasOff + j, lanes);
                }
                if (cols == 4) {
                    for (; i < m; i++) tile1x4(k, a, aOff + i * lda, w, wOff + j * ldw, ldw, c, cOff + i * n + j, bias, biasOff + j, lanes);
                }
                for (; i < m; i++) {
                    for (int jj = 0; jj < cols; jj++) {
                        float v = dot(k, a, aOff + i * lda, w, wOff + (j + jj) * ldw, lanes);
                        c[cOff + i * n + j + jj] = v + (bias == null ? 0f : bias[biasOff + j + jj]);
                    }
                }
            }
        });
    }

    /** One (row of A) · (row of W): the same lane-wise accumulation and reduction as {@link #tile4x4}. */
    private static float dot(int k, float[] a, int ao, float[] w, int wo, float[] lanes) {
        FloatVector acc = FloatVector.zero(S);
        int p = 0;
        for (; p + L <= k; p += L) acc = FloatVector.fromArray(S, a, ao + p).fma(FloatVector.fromArray(S, w, wo + p), acc);
        if (p < k) {
            VectorMask<Float> mk = S.indexInRange(p, k);
            acc = FloatVector.fromArray(S, a, ao + p, mk).fma(FloatVector.fromArray(S, w, wo + p, mk), acc);
        }
        acc.intoArray(lanes, 0);
        return reduce(lanes, 0);
    }

    /** One row of A against four rows of W: four independent accumulation chains. */
    private static void tile1x4(int k, float[] a, int ao, float[] w, int wo, int ldw, float[] c, int co, float[] bias, int bo, float[] lanes) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        int p = 0;
        for (; p + L <= k; p += L) {
            FloatVector x = FloatVector.fromArray(S, a, ao + p);
            c0 = x.fma(FloatVector.fromArray(S, w, wo + p), c0);
            c1 = x.fma(FloatVector.fromArray(S, w, wo + ldw + p), c1);
            c2 = x.fma(FloatVector.fromArray(S, w, wo + 2 * ldw + p), c2);
            c3 = x.fma(FloatVector.fromArray(S, w, wo + 3 * ldw + p), c3);
        }
        if (p < k) {
            VectorMask<Float> mk = S.indexInRange(p, k);
            FloatVector x = FloatVector.fromArray(S, a, ao + p, mk);
            c0 = x.fma(FloatVector.fromArray(S, w, wo + p, mk), c0);
            c1 = x.fma(FloatVector.fromArray(S, w, wo + ldw + p, mk), c1);
            c2 = x.fma(FloatVector.fromArray(S, w, wo + 2 * ldw + p, mk), c2);
            c3 = x.fma(FloatVector.fromArray(S, w, wo + 3 * ldw + p, mk), c3);
        }
        c0.intoArray(lanes, 0); c1.intoArray(lanes, L); c2.intoArray(lanes, 2 * L); c3.intoArray(lanes, 3 * L);
        for (int j = 0; j < 4; j++) c[co + j] = reduce(lanes, j * L) + (bias == null ? 0f : bias[bo + j]);
    }

    /**
     * C[i0..i0+4, j0..j0+4] from rows i0.. of A and j0.. of W (16 accumulators in registers), for
     * k a multiple of the vector length (a masked tail here makes the method too large for C2 to
     * compile with intrinsics; other k go through {@link #dot}).
     */
    private static void tile4x4(int k, float[] a, int ao, int lda, float[] w, int wo, int ldw, float[] c, int co, int ldc, float[] bias, int bo, float[] lanes) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (int p = 0; p < k; p += L) {
            FloatVector w0 = FloatVector.fromArray(S, w, wo + p), w1 = FloatVector.fromArray(S, w, wo + ldw + p);
            FloatVector w2 = FloatVector.fromArray(S, w, wo + 2 * ldw + p), w3 = FloatVector.fromArray(S, w, wo + 3 * ldw + p);
            FloatVector x = FloatVector.fromArray(S, a, ao + p);
            c00 = x.fma(w0, c00); c01 = x.fma(w1, c01); c02 = x.fma(w2, c02); c03 = x.fma(w3, c03);
            x = FloatVector.fromArray(S, a, ao + lda + p);
            c10 = x.fma(w0, c10); c11 = x.fma(w1, c11); c12 = x.fma(w2, c12); c13 = x.fma(w3, c13);
            x = FloatVector.fromArray(S, a, ao + 2 * lda + p);
            c20 = x.fma(w0, c20); c21 = x.fma(w1, c21); c22 = x.fma(w2, c22); c23 = x.fma(w3, c23);
            x = FloatVector.fromArray(S, a, ao + 3 * lda + p);
            c30 = x.fma(w0, c30); c31 = x.fma(w1, c31); c32 = x.fma(w2, c32); c33 = x.fma(w3, c33);
        }
        // The accumulators go to memory and are reduced there: a vector passed to a method C2 does
        // not inline would be boxed on the heap, which costs more than the whole tile.
        c00.intoArray(lanes, 0); c01.intoArray(lanes, L); c02.intoArray(lanes, 2 * L); c03.intoArray(lanes, 3 * L);
        c10.intoArray(lanes, 4 * L); c11.intoArray(lanes, 5 * L); c12.intoArray(lanes, 6 * L); c13.intoArray(lanes, 7 * L);
        c20.intoArray(lanes, 8 * L); c21.intoArray(lanes, 9 * L); c22.intoArray(lanes, 10 * L); c23.intoArray(lanes, 11 * L);
        c30.intoArray(lanes, 12 * L); c31.intoArray(lanes, 13 * L); c32.intoArray(lanes, 14 * L); c33.intoArray(lanes, 15 * L);
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) c[co + i * ldc + j] = reduce(lanes, (4 * i + j) * L) + (bias == null ? 0f : bias[bo + j]);
        }
    }

    /** The sum of L lanes stored at lanes[at..], in a fixed order (the same for every tile shape). */
    private static float reduce(float[] lanes, int at) {
        float s = 0f;
        for (int i = 0; i < L; i++) s += lanes[at + i];
        return s;
    }
}
