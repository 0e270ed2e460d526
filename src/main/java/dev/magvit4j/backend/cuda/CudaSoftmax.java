package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Softmax and log-softmax over the last dim, and cross-entropy with integer targets, one warp or
 * one block per row. Kernels: kernels/softmax.cu. CPU: CpuSoftmax.
 */
final class CudaSoftmax {

    private CudaSoftmax() {}

    private static final String M = "softmax";
    /** Rows up to this long go one per warp (8 per block); longer ones one per block. */
    private static final int WARP_ROW_MAX = 1024;
    /** Rows longer than this get blocks of 1024 threads rather than 256. */
    private static final int BIG_ROW = 16384;

    /**
     * How rows of n floats map onto the grid: one per warp or per block of `threads`, and the
     * kernel variant (_v4: float4 accesses, for rows of a multiple of 4 floats at 16-byte
     * aligned offsets in every operand).
     */
    private record Rows(int rows, int n, boolean warp, int threads, String suffix) {
        static Rows of(int rows, int n, Tensor... operands) {
            boolean vec = n % 4 == 0;
            for (Tensor t : operands) vec &= t.offset() % 4 == 0;
            boolean warp = n <= WARP_ROW_MAX;
            return new Rows(rows, n, warp, warp || n <= BIG_ROW ? THREADS : 1024, vec ? "_v4" : "_v1");
        }

        int grid() { return warp ? ceilDiv(rows, threads / 32) : rows; }

        void launch(CudaBackend be, String kernel, Object... args) {
            be.device.launch(M, kernel + suffix, grid(), 1, 1, threads, 0, args);
        }
    }

    /** Length of the last dim (1 for a scalar). */
    private static int lastDim(Tensor t) {
        return t.dim() == 0 ? 1 : t.size(t.dim() - 1);
    }

    static Tensor softmax(CudaBackend be, Tensor x, boolean log) {
        x = contiguousFloat(x);
        Tensor y = be.empty(DType.FLOAT32, x.shapeRef());
        int n = lastDim(x);
        if (x.numel() == 0) return y;
        Rows r = Rows.of(x.numel() / n, n, x);
        r.launch(be, "softmax_forward", ptr(x), ptr(y), r.rows, n, r.warp ? 1 : 0, log ? 1 : 0);
        return y;
    }

    /** softmax: dx = y·(dy - Σ dy·y);  log-softmax: dx = dy - exp(y)·Σ dy. */
    static Tensor softmaxBackward(CudaBackend be, Tensor y, Tensor dy, boolean log) {
        if (!java.util.Arrays.equals(y.shapeRef(), dy.shapeRef())) {
            throw new IllegalArgumentException("softmax backward needs y and dy of one shape, got " + Shape.str(y.shapeRef()) + " and " + Shape.str(dy.shapeRef()));
        }
        y = contiguousFloat(y);
        dy = contiguousFloat(dy);
        Tensor dx = be.empty(DType.FLOAT32, y.shapeRef());
        int n = lastDim(y);
        if (y.numel() == 0) return dx;
        Rows r = Rows.of(y.numel() / n, n, y, dy);
        r.launch(be, "softmax_backward", ptr(y), ptr(dy), ptr(dx), r.rows, n, r.warp ? 1 : 0, log ? 1 : 0);
        return dx;
    }

    /** CpuSoftmax.checkTargets: logits [N, C], int64 or int32 targets [N], each a class or ignoreIndex. */
    private static void checkTargets(Tensor logits, Tensor targets, long ignoreIndex) {
        if (logits.dim() != 2 || targets.dim() != 1 || targets.size(0) != logits.size(0)) {
            throw new IllegalArgumentException("cross entropy needs logits [N, C] and targets [N], got " + Shape.str(logits.shapeRef()) + " and " + Shape.str(targets.shapeRef()));
        }
        if (targets.dtype() != DType.INT64 && targets.dtype() != DType.INT32) {
            throw new IllegalArgumentException("cross entropy targets must be int64 or int32 class indices, got " + targets.dtype());
        }
        long[] t = targets.toLongArray();
        int classes = logits.size(1);
        for (int r = 0; r < t.length; r++) {
            if (t[r] != ignoreIndex && (t[r] < 0 || t[r] >= classes)) {
                throw new IndexOutOfBoundsException("cross entropy target " + t[r] + " at row " + r + " is out of range for " + classes + " classes");
            }
        }
    }

    /** A float vector [N] as the kernels read it: its address and element stride (0 when expanded). */
    private static Object[] floatVector(Tensor t) {
        if (t.dtype() != DType.FLOAT32) t = contiguousFloat(t);
        return new Object[] {ptr(t), t.stride(0)};
    }

    static Tensor[] crossEntropy(CudaBackend be, Tensor logits, Tensor targets, long ignoreIndex) {
        checkTargets(logits, targets, ignoreIndex);
        logits = contiguousFloat(logits);
        int rows = logits.size(0), n = logits.size(1);
        Tensor loss = be.empty(DType.FLOAT32, rows);
        Tensor lse = be.empty(DType.FLOAT32, rows);
        if (rows == 0) return new Tensor[] {loss, lse};
        Rows r = Rows.of(rows, n, logits);
        r.launch(be, "cross_entropy_forward", ptr(logits), rows, n, ptr(targets), targets.dtype() == DType.INT64 ? 1 : 0, targets.stride(0),
                ignoreIndex, r.warp ? 1 : 0, ptr(loss), ptr(lse));
        return new Tensor[] {loss, lse};
    }

    /** d logits = (softmax(logits) - onehot(target))·dloss[row]; rows with ignoreIndex get 0. */
    static Tensor crossEntropyBackward(CudaBackend be, Tensor logits, Tensor targets, Tensor logsumexp, Tensor dloss, long ignoreIndex) {
        int rows = logits.dim() == 2 ? logits.size(0) : -1;
        if (!java.util.stream.Stream.of(targets, logsumexp, dloss).allMatch(t -> t.dim() == 1 && t.size(0) == rows)) {
            throw new IllegalArgumentException("cross entropy backward needs logits [N, C] and targets, logsumexp, dloss [N], got "
                    + Shape.str(logits.shapeRef()) + ", " + Shape.str(targets.shapeRef()) + ", " + Shape.str(logsumexp.shapeRef()) + ", " + Shape.str(dloss.shapeRef()));
        }
        if (targets.dtype() != DType.INT64 && targets.dtype() != DType.INT32) {
            throw new IllegalArgumentException("cross entropy targets must be int64 or int32 class indices, got " + targets.dtype());
        }
        logits = contiguousFloat(logits);
        Tensor dx = be.empty(DType.FLOAT32, logits.shapeRef());
        if (dx.numel() == 0) return dx;
        int n = logits.size(1);
        Object[] lse = floatVector(logsumexp), g = floatVector(dloss);
        Rows r = Rows.of(rows, n, logits);
        r.launch(be, "cross_entropy_backward", ptr(logits), rows, n, ptr(targets), targets.dtype() == DType.INT64 ? 1 : 0, targets.stride(0),
                lse[0], lse[1], g[0], g[1], ignoreIndex, r.warp ? 1 : 0, ptr(dx));
        return dx;
    }
}
