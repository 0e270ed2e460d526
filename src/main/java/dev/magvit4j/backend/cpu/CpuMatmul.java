package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.MatmulGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

/** Batched matrix multiply with broadcast batch dims, on {@link Sgemm}. */
final class CpuMatmul {

    private CpuMatmul() {}

    /** Below this many multiply-adds per matrix, batches run in parallel and each GEMM serially. */
    private static final long SMALL = 1L << 22;

    static Tensor matmul(Tensor a, Tensor b, Tensor bias) {
        MatmulGeometry g = MatmulGeometry.of(a, b, bias);
        int m = g.m(), k = g.k(), n = g.n();
        int[] batch = g.batch();
        a = MatmulGeometry.readableInPlace(a) ? a : CpuElementwise.dense(a);
        b = MatmulGeometry.readableInPlace(b) ? b : CpuElementwise.dense(b);
        Tensor out = CpuBackend.allocate(DType.FLOAT32, g.outShape());
        float[] av = CpuElementwise.floats(a), bv = CpuElementwise.floats(b), ov = CpuElementwise.floats(out);
        float[] biasV = bias == null ? null : CpuElementwise.floats(bias = CpuElementwise.dense(bias));
        int biasOff = bias == null ? 0 : bias.offset();
        int[] ast = a.stridesRef(), bst = b.stridesRef();
        int aRs = ast[ast.length - 2], aCs = ast[ast.length - 1], bRs = bst[bst.length - 2], bCs = bst[bst.length - 1];
        int[] aBatch = g.batchStrides(a), bBatch = g.batchStrides(b);
        int aOff = a.offset(), bOff = b.offset();
        int count = g.count();
        if (count == 1 && m <= SkinnyGemm.MAX_ROWS && aCs == 1 && bRs == 1 && k > 0) {
            // x·Wᵀ for a few rows (token-by-token decoding): stream W in place.
            SkinnyGemm.gemm(m, n, k, av, aOff, aRs, bv, bOff, bCs, ov, 0, biasV, biasOff);
            return out;
        }
        Parallel.Range run = (b0, b1) -> {
            for (int i = b0; i < b1; i++) {
                Sgemm.gemm(m, n, k, av, batchOffset(i, batch, aBatch, aOff), aRs, aCs, Sgemm.matrix(bv, batchOffset(i, batch, bBatch, bOff), bRs, bCs),
                        ov, i * m * n, n, false, Sgemm.Bias.columns(biasV, biasOff));
            }
        };
        if (count > 1 && (long) m * n * k < SMALL) Parallel.forRange(count, 1, run);
        else run.run(0, count);
        return out;
    }

    /** Storage offset of matrix i (row-major over the batch dims) through broadcast batch strides. */
    private static int batchOffset(int i, int[] batch, int[] strides, int base) {
        int o = base;
        for (int d = batch.length - 1; d >= 0; d--) {
            o += (i % batch[d]) * strides[d];
            i /= batch[d];
        }
        return o;
    }
}
