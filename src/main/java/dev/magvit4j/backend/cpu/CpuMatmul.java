package dev.magvit4j.backend.cpu;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** Batched matrix multiply with broadcast batch dims, on {@link Sgemm}. */
final class CpuMatmul {

    private CpuMatmul() {}

    /** Below this many multiply-adds per matrix, batches run in parallel and each GEMM serially. */
    private static final long SMALL = 1L << 22;

    static Tensor matmul(Tensor a, Tensor b, Tensor bias) {
        int[] as = a.shapeRef(), bs = b.shapeRef();
        if (as.length < 2 || bs.length < 2) {
            throw new IllegalArgumentException("matmul needs tensors of rank >= 2, got " + Shape.str(as) + " and " + Shape.str(bs));
        }
        int m = as[as.length - 2], k = as[as.length - 1], kb = bs[bs.length - 2], n = bs[bs.length - 1];
        if (k != kb) {
            throw new IllegalArgumentException("matmul of " + Shape.str(as) + " by " + Shape.str(bs) + ": inner dimensions " + k + " and " + kb + " differ");
        }
        if (bias != null && (bias.dim() != 1 || bias.size(0) != n)) {
            throw new IllegalArgumentException("bias of shape " + Shape.str(bias.shapeRef()) + " for a product with " + n + " columns");
        }
        a = gemmOperand(a);
        b = gemmOperand(b);
        int[] batch = Shape.broadcast(java.util.Arrays.copyOf(as, as.length - 2), java.util.Arrays.copyOf(bs, bs.length - 2));
        Tensor out = CpuBackend.allocate(DType.FLOAT32, Shape.concat(batch, m, n));
        float[] av = CpuElementwise.floats(a), bv = CpuElementwise.floats(b), ov = CpuElementwise.floats(out);
        float[] biasV = bias == null ? null : CpuElementwise.floats(bias = CpuElementwise.dense(bias));
        int biasOff = bias == null ? 0 : bias.offset();
        int[] ast = a.stridesRef(), bst = b.stridesRef();
        int aRs = ast[ast.length - 2], aCs = ast[ast.length - 1], bRs = bst[bst.length - 2], bCs = bst[bst.length - 1];
        int[] aBatch = batchStrides(a, batch), bBatch = batchStrides(b, batch);
        int aOff = a.offset(), bOff = b.offset();
        int count = Shape.numel(batch);
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

    /** a itself when its last two dims have a unit stride (row-major or transposed), else a contiguous copy. */
    private static Tensor gemmOperand(Tensor t) {
        if (t.dtype() != DType.FLOAT32) throw new IllegalArgumentException("matmul needs float32 tensors, got " + t.dtype());
        int[] st = t.stridesRef(), sh = t.shapeRef();
        int r = st.length;
        boolean unitCol = st[r - 1] == 1 || sh[r - 1] == 1, unitRow = st[r - 2] == 1 || sh[r - 2] == 1;
        return unitCol || unitRow ? t : CpuElementwise.dense(t);
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

    private static int[] batchStrides(Tensor t, int[] batch) {
        int[] sh = t.shapeRef(), st = t.stridesRef();
        int[] out = new int[batch.length];
        int lead = batch.length - (sh.length - 2);
        for (int d = 0; d < sh.length - 2; d++) out[lead + d] = sh[d] == 1 ? 0 : st[d];
        return out;
    }
}
