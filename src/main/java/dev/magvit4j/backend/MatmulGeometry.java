package dev.magvit4j.backend;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

/**
 * The shapes of one batched matrix product a [..., m, k] · b [..., k, n] (+ bias [n]), checked
 * once for every backend (CpuMatmul, CudaMatmul): float32 operands, equal inner dims, and batch
 * dims that broadcast (NumPy rules) to {@code batch}.
 */
public record MatmulGeometry(int m, int k, int n, int[] batch) {

    /** The geometry of matmul(a, b) + bias (bias may be null), or a one-line error naming what does not fit. */
    public static MatmulGeometry of(Tensor a, Tensor b, Tensor bias) {
        int[] as = a.shapeRef(), bs = b.shapeRef();
        if (as.length < 2 || bs.length < 2) {
            throw new IllegalArgumentException("matmul needs tensors of rank >= 2, got " + Shape.str(as) + " and " + Shape.str(bs));
        }
        for (Tensor t : new Tensor[] {a, b}) {
            if (t.dtype() != DType.FLOAT32) throw new IllegalArgumentException("matmul needs float32 tensors, got " + t.dtype());
        }
        int m = as[as.length - 2], k = as[as.length - 1], kb = bs[bs.length - 2], n = bs[bs.length - 1];
        if (k != kb) {
            throw new IllegalArgumentException("matmul of " + Shape.str(as) + " by " + Shape.str(bs) + ": inner dimensions " + k + " and " + kb + " differ");
        }
        if (bias != null && (bias.dim() != 1 || bias.size(0) != n || bias.dtype() != DType.FLOAT32)) {
            throw new IllegalArgumentException("bias of shape " + Shape.str(bias.shapeRef()) + " (" + bias.dtype() + ") for a product with " + n + " float32 columns");
        }
        return new MatmulGeometry(m, k, n, Shape.broadcast(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2)));
    }

    /** Matrices in the batch. */
    public int count() {
        return Shape.numel(batch);
    }

    /** The output's shape: [...batch, m, n]. */
    public int[] outShape() {
        return Shape.concat(batch, m, n);
    }

    /**
     * Whether a GEMM kernel can read operand t where it is: its last two dims have a unit stride
     * (row-major or transposed). Other views are copied first.
     */
    public static boolean readableInPlace(Tensor t) {
        int[] st = t.stridesRef(), sh = t.shapeRef();
        int r = st.length;
        return st[r - 1] == 1 || sh[r - 1] == 1 || st[r - 2] == 1 || sh[r - 2] == 1;
    }

    /** t's strides over the broadcast batch dims (0 where t has size 1 or lacks the dim). */
    public int[] batchStrides(Tensor t) {
        int[] sh = t.shapeRef(), st = t.stridesRef();
        int[] out = new int[batch.length];
        int lead = batch.length - (sh.length - 2);
        for (int d = 0; d < sh.length - 2; d++) out[lead + d] = sh[d] == 1 ? 0 : st[d];
        return out;
    }
}
