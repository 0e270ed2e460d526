package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Reductions. Every reduction is brought to the layout (outer, R, inner) of a contiguous
 * tensor, R being the reduced extent: in place when the reduced dims form one block, after one
 * permuting copy otherwise. Rows (inner == 1) reduce along vectors; columns (inner > 1)
 * accumulate whole rows, in blocks so float rounding grows with the block size, not with R.
 */
final class CpuReduce {

    private CpuReduce() {}

    private static final VectorSpecies<Float> S = CpuElementwise.S;
    private static final int L = S.length();
    private static final int BLOCK = 256;

    /** A contiguous float array viewed as (outer, r, inner) starting at off. */
    private record Layout(float[] data, int off, int outer, int r, int inner) {}

    private static Layout layout(Tensor x, int[] dims) {
        x = CpuElementwise.dense(x);
        int[] shape = x.shapeRef();
        int first = dims.length == 0 ? 0 : dims[0], last = dims.length == 0 ? -1 : dims[dims.length - 1];
        boolean block = last - first + 1 == dims.length;
        if (!block) {
            // Move kept dims first (in order), reduced dims last, and copy.
            int[] order = new int[shape.length];
            int k = 0;
            for (int d = 0; d < shape.length; d++) if (Arrays.binarySearch(dims, d) < 0) order[k++] = d;
            for (int d : dims) order[k++] = d;
            Tensor p = x.detach().permute(order);
            Tensor c = CpuBackend.allocate(DType.FLOAT32, p.shapeRef());
            CpuCopy.copy(p, c);
            x = c;
            shape = c.shapeRef();
            first = shape.length - dims.length;
            last = shape.length - 1;
        }
        int outer = 1, r = 1, inner = 1;
        for (int d = 0; d < shape.length; d++) {
            if (d < first) outer *= shape[d];
            else if (d <= last) r *= shape[d];
            else inner *= shape[d];
        }
        return new Layout(CpuElementwise.floats(x), x.offset(), outer, r, inner);
    }

    static Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        Layout l = layout(x, dims);
        Tensor out = CpuBackend.allocate(DType.FLOAT32, Shape.reduced(x.shapeRef(), dims, keepDim));
        float[] o = CpuElementwise.floats(out);
        if (l.r == 0 && (op == ReduceOp.MAX || op == ReduceOp.MIN)) {
            throw new IllegalArgumentException(op.name().toLowerCase() + " over an empty dimension of shape " + Shape.str(x.shapeRef()));
        }
        reduceInto(op, l, o);
        if (op == ReduceOp.MEAN) {
            float inv = 1f / l.r;
            for (int i = 0; i < o.length; i++) o[i] *= inv;
        }
        return out;
    }

    /** o[outer, inner] = op over r of l; MEAN is summed here and scaled by the caller. */
    private static void reduceInto(ReduceOp op, Layout l, float[] o) {
        if (l.inner == 1) {
            Parallel.forRange(l.outer, Math.max(1, 16384 / Math.max(l.r, 1)), (o0, o1) -> {
                for (int i = o0; i < o1; i++) o[i] = reduceRow(op, l.data, l.off + i * l.r, l.r);
            });
        } else {
            // Split over outer, or over inner columns when outer alone gives too little work.
            int columnChunks = l.outer >= Parallel.threads() ? 1 : Math.max(1, Math.min(Parallel.threads(), l.inner / (4 * L)));
            Parallel.forRange(l.outer * columnChunks, 1, (t0, t1) -> {
                float[] partial = new float[l.inner];
                for (int t = t0; t < t1; t++) {
                    int i = t / columnChunks, c = t % columnChunks;
                    int j0 = (int) ((long) l.inner * c / columnChunks), j1 = (int) ((long) l.inner * (c + 1) / columnChunks);
                    reduceColumns(op, l, i, j0, j1, o, partial);
                }
            });
        }
    }

    private static float reduceRow(ReduceOp op, float[] a, int off, int n) {
        float identity = identity(op);
        FloatVector acc0 = FloatVector.broadcast(S, identity), acc1 = acc0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            acc0 = combine(op, acc0, FloatVector.fromArray(S, a, off + i));
            acc1 = combine(op, acc1, FloatVector.fromArray(S, a, off + i + L));
        }
        for (; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            acc0 = combine(op, acc0, FloatVector.fromArray(S, a, off + i, m).blend(identity, m.not()));
        }
        acc0 = combine(op, acc0, acc1);
        return switch (op) {
            case SUM, MEAN -> VectorMath.sum(acc0);
            case MAX -> acc0.reduceLanes(VectorOperators.MAX);
            case MIN -> acc0.reduceLanes(VectorOperators.MIN);
        };
    }

    private static void reduceColumns(ReduceOp op, Layout l, int outerIdx, int j0, int j1, float[] o, float[] partial) {
        int base = l.off + outerIdx * l.r * l.inner;
        int ob = outerIdx * l.inner;
        float identity = identity(op);
        Arrays.fill(o, ob + j0, ob + j1, identity);
        for (int r0 = 0; r0 < l.r; r0 += BLOCK) {
            int r1 = Math.min(l.r, r0 + BLOCK);
            Arrays.fill(partial, j0, j1, identity);
            for (int r = r0; r < r1; r++) {
                int rowOff = base + r * l.inner;
                for (int j = j0; j < j1; j += L) {
                    VectorMask<Float> m = S.indexInRange(j, j1);
                    FloatVector p = FloatVector.fromArray(S, partial, j, m);
                    combine(op, p, FloatVector.fromArray(S, l.data, rowOff + j, m)).intoArray(partial, j, m);
                }
            }
            for (int j = j0; j < j1; j += L) {
                VectorMask<Float> m = S.indexInRange(j, j1);
                FloatVector t = FloatVector.fromArray(S, o, ob + j, m);
                combine(op, t, FloatVector.fromArray(S, partial, j, m)).intoArray(o, ob + j, m);
            }
        }
    }

    private static float identity(ReduceOp op) {
        return switch (op) {
            case SUM, MEAN -> 0f;
            case MAX -> Float.NEGATIVE_INFINITY;
            case MIN -> Float.POSITIVE_INFINITY;
        };
    }

    private static FloatVector combine(ReduceOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case SUM, MEAN -> a.add(b);
            case MAX -> a.max(b);
            case MIN -> a.min(b);
        };
    }

    /** Two passes: the mean, then the sum of squared deviations (no cancellation). */
    static Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim) {
        Layout l = layout(x, dims);
        Tensor out = CpuBackend.allocate(DType.FLOAT32, Shape.reduced(x.shapeRef(), dims, keepDim));
        float[] o = CpuElementwise.floats(out);
        float[] mean = new float[l.outer * l.inner];
        reduceInto(ReduceOp.SUM, l, mean);
        float invR = 1f / l.r;
        for (int i = 0; i < mean.length; i++) mean[i] *= invR;
        float denom = l.r - correction;
        Parallel.forRange(l.outer, 1, (o0, o1) -> {
            for (int i = o0; i < o1; i++) {
                for (int j = 0; j < l.inner; j++) {
                    float m = mean[i * l.inner + j];
                    double s = 0;
                    int at = l.off + i * l.r * l.inner + j;
                    if (l.inner == 1) {
                        FloatVector acc = FloatVector.zero(S);
                        for (int k = 0; k < l.r; k += L) {
                            VectorMask<Float> mask = S.indexInRange(k, l.r);
                            FloatVector d = FloatVector.fromArray(S, l.data, at + k, mask).sub(m).blend(0f, mask.not());
                            acc = d.fma(d, acc);
                        }
                        s = VectorMath.sum(acc);
                    } else {
                        for (int k = 0; k < l.r; k++) {
                            float d = l.data[at + k * l.inner] - m;
                            s += d * d;
                        }
                    }
                    o[i * l.inner + j] = (float) (s / denom);
                }
            }
        });
        return out;
    }

    static Tensor argmax(Tensor x, int dim, boolean keepDim) {
        int rank = x.dim();
        int[] order = new int[rank];
        for (int d = 0, k = 0; d < rank; d++) if (d != dim) order[k++] = d;
        order[rank - 1] = dim;
        Tensor p = CpuElementwise.dense(x.detach().permute(order));
        float[] a = CpuElementwise.floats(p);
        int n = x.shapeRef()[dim], off = p.offset();
        if (n == 0) throw new IllegalArgumentException("argmax over an empty dimension of shape " + Shape.str(x.shapeRef()));
        Tensor out = CpuBackend.allocate(DType.INT64, Shape.reduced(x.shapeRef(), new int[] {dim}, keepDim));
        long[] o = ((CpuStorage) out.storage()).longs();
        Parallel.forRange(o.length, Math.max(1, 16384 / n), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int base = off + r * n, best = 0;
                float bv = a[base];
                for (int i = 1; i < n; i++) {
                    if (a[base + i] > bv) {
                        bv = a[base + i];
                        best = i;
                    }
                }
                o[r] = best;
            }
        });
        return out;
    }
}
