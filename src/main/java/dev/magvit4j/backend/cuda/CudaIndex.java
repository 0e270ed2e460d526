package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Embedding lookup and its gradient, gather / scatter-add. Kernels: kernels/index.cu. CPU: CpuIndex.
 *
 * <p>Every kernel checks its indices against [0, bound) and records the first bad position in a
 * one-int device flag; {@link #check} reads the flag back and throws CpuIndex's exception.
 */
final class CudaIndex {

    private CudaIndex() {}

    private static final String M = "index";

    /** idx contiguous, after checking its dtype as CpuIndex.indices does. */
    private static Tensor indices(Tensor idx, String what) {
        if (idx.dtype() != DType.INT64 && idx.dtype() != DType.INT32) {
            throw new IllegalArgumentException(what + " indices must be int64 or int32, got " + idx.dtype());
        }
        return contiguous(idx);
    }

    private static int is64(Tensor idx) {
        return idx.dtype() == DType.INT64 ? 1 : 0;
    }

    /** The device flag for the first bad index position: Integer.MAX_VALUE while there is none. */
    private static Tensor flag(CudaBackend be) {
        Tensor f = be.empty(DType.INT32, 1);
        be.fill(f, Integer.MAX_VALUE);
        return f;
    }

    /** After the kernel: throws CpuIndex's IndexOutOfBoundsException when it recorded a bad index. */
    private static void check(CudaBackend be, Tensor flag, Tensor idx, int bound, String what) {
        int at = (int) be.toCpu(flag).toLongArray()[0];
        if (at == Integer.MAX_VALUE) return;
        long value = be.toCpu(idx).toLongArray()[at];
        throw new IndexOutOfBoundsException(what + " index " + value + " is out of range [0, " + bound + ") at position " + at);
    }

    static Tensor embedding(CudaBackend be, Tensor weight, Tensor idx) {
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding table must be [N, D], got " + Shape.str(weight.shapeRef()));
        int rows = weight.size(0), d = weight.size(1);
        idx = indices(idx, "embedding");
        weight = contiguousFloat(weight);
        Tensor out = be.empty(DType.FLOAT32, Shape.concat(idx.shapeRef(), d));
        int total = out.numel();
        Tensor bad = flag(be);
        be.device.launch(M, "embedding", blocks(be, total, THREADS), 1, 1, THREADS, 0, ptr(weight), d, ptr(idx), is64(idx), rows, total, ptr(out), ptr(bad));
        check(be, bad, idx, rows, "embedding");
        return out;
    }

    static Tensor embeddingBackward(CudaBackend be, Tensor dy, Tensor idx, int numEmbeddings) {
        int d = dy.size(-1);
        idx = indices(idx, "embedding");
        if ((long) idx.numel() * d != dy.numel()) {
            throw new IllegalArgumentException("embedding backward: dy of shape " + Shape.str(dy.shapeRef()) + " does not hold one row per index of shape " + Shape.str(idx.shapeRef()));
        }
        dy = contiguousFloat(dy);
        Tensor dw = be.empty(DType.FLOAT32, numEmbeddings, d);
        int rows = idx.numel();
        if (numEmbeddings == 0 || d == 0) return dw;
        // The stable counting sort of index.cu: rows grouped by index, each group in row order.
        Tensor count = be.empty(DType.INT32, numEmbeddings), start = be.empty(DType.INT32, numEmbeddings);
        Tensor rank = be.empty(DType.INT32, Math.max(rows, 1)), order = be.empty(DType.INT32, Math.max(rows, 1));
        be.fill(count, 0);
        Tensor bad = flag(be);
        if (rows > 0) {
            be.device.launch(M, "embedding_rank", blocks(be, rows, THREADS), 1, 1, THREADS, 0, ptr(idx), is64(idx), numEmbeddings, rows, ptr(count), ptr(rank), ptr(bad));
            check(be, bad, idx, numEmbeddings, "embedding");
        }
        be.device.launch(M, "embedding_starts", 1, 1, 1, 1024, 0, ptr(count), numEmbeddings, ptr(start));
        if (rows > 0) {
            be.device.launch(M, "embedding_order", blocks(be, rows, THREADS), 1, 1, THREADS, 0, ptr(idx), is64(idx), numEmbeddings, rows, ptr(start), ptr(rank), ptr(order));
        }
        be.device.launch(M, "embedding_backward", blocks(be, (long) numEmbeddings * d, THREADS), 1, 1, THREADS, 0,
                ptr(dy), d, ptr(order), ptr(start), ptr(count), numEmbeddings, ptr(dw));
        return dw;
    }

    private static void checkGather(int[] xShape, int dim, Tensor idx) {
        int[] is = idx.shapeRef();
        if (is.length != xShape.length) {
            throw new IllegalArgumentException("gather index of shape " + Shape.str(is) + " must have the rank of the input " + Shape.str(xShape));
        }
        if (is.length > MAX_DIMS) throw new IllegalArgumentException("gather supports up to " + MAX_DIMS + " dimensions, got " + Shape.str(is));
        for (int d = 0; d < is.length; d++) {
            if (d != dim && is[d] > xShape[d]) {
                throw new IllegalArgumentException("gather index of shape " + Shape.str(is) + " is larger than the input " + Shape.str(xShape) + " in dimension " + d);
            }
        }
    }

    /**
     * The Layout struct of gather_offset in index.cu: idx's rank and shape (dims not merged: the
     * kernel needs each coordinate) with the strides and offset of the tensor it addresses.
     */
    private static int[] gatherLayout(int[] idxShape, int[] strides, int offset) {
        int[] l = new int[2 + 2 * MAX_DIMS];
        l[0] = idxShape.length;
        l[1] = offset;
        for (int i = 0; i < MAX_DIMS; i++) {
            l[2 + i] = i < idxShape.length ? idxShape[i] : 1;
            l[2 + MAX_DIMS + i] = i < idxShape.length ? strides[i] : 0;
        }
        return l;
    }

    static Tensor gather(CudaBackend be, Tensor x, int dim, Tensor idx) {
        dim = Shape.dim(dim, x.dim());
        checkGather(x.shapeRef(), dim, idx);
        idx = indices(idx, "gather");
        if (x.dtype() != DType.FLOAT32) x = contiguousFloat(x);   // float views are read in place through their strides
        Tensor out = be.empty(DType.FLOAT32, idx.shapeRef());
        int total = out.numel(), bound = x.size(dim);
        Tensor bad = flag(be);
        be.device.launch(M, "gather", blocks(be, total, THREADS), 1, 1, THREADS, 0, base(x), gatherLayout(idx.shapeRef(), x.stridesRef(), x.offset()), dim,
                ptr(idx), is64(idx), bound, total, ptr(out), ptr(bad));
        check(be, bad, idx, bound, "gather");
        return out;
    }

    static Tensor scatterAdd(CudaBackend be, int[] xShape, int dim, Tensor idx, Tensor src) {
        dim = Shape.dim(dim, xShape.length);
        checkGather(xShape, dim, idx);
        idx = indices(idx, "scatter");
        if (src.numel() != idx.numel()) {
            throw new IllegalArgumentException("scatter source of shape " + Shape.str(src.shapeRef()) + " does not match the index of shape " + Shape.str(idx.shapeRef()));
        }
        src = contiguousFloat(src);
        Tensor out = be.empty(DType.FLOAT32, xShape);
        be.fill(out, 0);
        int total = idx.numel(), bound = xShape[dim];
        Tensor bad = flag(be);
        be.device.launch(M, "scatter_add", blocks(be, total, THREADS), 1, 1, THREADS, 0, ptr(src), gatherLayout(idx.shapeRef(), out.stridesRef(), 0), dim,
                ptr(idx), is64(idx), bound, total, ptr(out), ptr(bad));
        check(be, bad, idx, bound, "scatter");
        return out;
    }
}
