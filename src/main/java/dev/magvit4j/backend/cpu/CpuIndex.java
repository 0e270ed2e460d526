package dev.magvit4j.backend.cpu;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** Embedding lookup, gather / scatter-add, and dropout masks. */
final class CpuIndex {

    private CpuIndex() {}

    /** Indices as a long[] in row-major order, each checked against [0, bound). */
    static long[] indices(Tensor idx, int bound, String what) {
        if (idx.dtype() != DType.INT64 && idx.dtype() != DType.INT32) {
            throw new IllegalArgumentException(what + " indices must be int64 or int32, got " + idx.dtype());
        }
        long[] v = dev.magvit4j.backend.Backends.cpu().toLongArray(idx);
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] >= bound) {
                throw new IndexOutOfBoundsException(what + " index " + v[i] + " is out of range [0, " + bound + ") at position " + i);
            }
        }
        return v;
    }

    static Tensor embedding(Tensor weight, Tensor idx) {
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding table must be [N, D], got " + Shape.str(weight.shapeRef()));
        int rows = weight.size(0), d = weight.size(1);
        long[] ix = indices(idx, rows, "embedding");
        weight = CpuElementwise.dense(weight);
        float[] w = CpuElementwise.floats(weight);
        int wo = weight.offset();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, Shape.concat(idx.shapeRef(), d));
        float[] o = CpuElementwise.floats(out);
        Parallel.forRange(ix.length, Math.max(1, 16384 / Math.max(d, 1)), (i0, i1) -> {
            for (int i = i0; i < i1; i++) System.arraycopy(w, wo + (int) ix[i] * d, o, i * d, d);
        });
        return out;
    }

    /** Threads split the columns, so rows repeated in idx never race. */
    static Tensor embeddingBackward(Tensor dy, Tensor idx, int numEmbeddings) {
        int d = dy.size(-1);
        long[] ix = indices(idx, numEmbeddings, "embedding");
        dy = CpuElementwise.dense(dy);
        float[] g = CpuElementwise.floats(dy);
        int go = dy.offset();
        Tensor dw = CpuBackend.allocate(DType.FLOAT32, new int[] {numEmbeddings, d});
        float[] o = CpuElementwise.floats(dw);
        Parallel.forRange(d, 64, (j0, j1) -> {
            for (int i = 0; i < ix.length; i++) {
                int src = go + i * d, dst = (int) ix[i] * d;
                for (int j = j0; j < j1; j++) o[dst + j] += g[src + j];
            }
        });
        return dw;
    }

    private static void checkGather(int[] xShape, int dim, Tensor idx) {
        int[] is = idx.shapeRef();
        if (is.length != xShape.length) {
            throw new IllegalArgumentException("gather index of shape " + Shape.str(is) + " must have the rank of the input " + Shape.str(xShape));
        }
        for (int d = 0; d < is.length; d++) {
            if (d != dim && is[d] > xShape[d]) {
                throw new IllegalArgumentException("gather index of shape " + Shape.str(is) + " is larger than the input " + Shape.str(xShape) + " in dimension " + d);
            }
        }
    }

    /** Storage offset in a contiguous tensor of shape xShape for the idx element at row-major position i. */
    private static int gatherOffset(int[] xStrides, int[] idxShape, int dim, int i, long target) {
        int off = 0;
        for (int d = idxShape.length - 1; d >= 0; d--) {
            int c = i % idxShape[d];
            i /= idxShape[d];
            off += (d == dim ? (int) target : c) * xStrides[d];
        }
        return off;
    }

    static Tensor gather(Tensor x, int dim, Tensor idx) {
        checkGather(x.shapeRef(), dim, idx);
        long[] ix = indices(idx, x.size(dim), "gather");
        x = CpuElementwise.dense(x);
        float[] xv = CpuElementwise.floats(x);
        int xo = x.offset();
        int[] st = x.stridesRef(), is = idx.shapeRef();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, is);
        float[] o = CpuElementwise.floats(out);
        Parallel.forRange(ix.length, 4096, (i0, i1) -> {
            for (int i = i0; i < i1; i++) o[i] = xv[xo + gatherOffset(st, is, dim, i, ix[i])];
        });
        return out;
    }

    static Tensor scatterAdd(int[] xShape, int dim, Tensor idx, Tensor src) {
        checkGather(xShape, dim, idx);
        long[] ix = indices(idx, xShape[dim], "scatter");
        src = CpuElementwise.dense(src);
        float[] sv = CpuElementwise.floats(src);
        int so = src.offset();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, xShape);
        float[] o = CpuElementwise.floats(out);
        int[] st = out.stridesRef(), is = idx.shapeRef();
        for (int i = 0; i < ix.length; i++) o[gatherOffset(st, is, dim, i, ix[i])] += sv[so + i];
        return out;
    }

    static Tensor dropoutMask(int[] shape, float p, Generator gen) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        Tensor mask = CpuBackend.allocate(DType.FLOAT32, shape);
        float[] m = CpuElementwise.floats(mask);
        long seed = gen.seed(), start = gen.advance(m.length);
        float keep = 1f / (1f - p);
        Parallel.forRange(m.length, 1 << 15, (i0, i1) -> {
            for (int i = i0; i < i1; i++) m[i] = Generator.uniform(seed, start + i) < p ? 0f : keep;
        });
        return mask;
    }
}
