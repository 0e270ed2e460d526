package dev.magvit4j.backend.cpu;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Softmax and log-softmax over the last dim, and cross-entropy with integer targets. */
final class CpuSoftmax {

    private CpuSoftmax() {}

    private static final VectorSpecies<Float> S = CpuElementwise.S;
    private static final int L = S.length();

    static float max(float[] a, int off, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            acc = acc.max(FloatVector.fromArray(S, a, off + i, m).blend(Float.NEGATIVE_INFINITY, m.not()));
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    /** Σ exp(a[i] - shift); writes the exponentials to out (at outOff) when out is not null. */
    static float sumExp(float[] a, int off, int n, float shift, float[] out, int outOff) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector e = VectorMath.exp(FloatVector.fromArray(S, a, off + i, m).sub(shift)).blend(0f, m.not());
            if (out != null) e.intoArray(out, outOff + i, m);
            acc = acc.add(e);
        }
        return VectorMath.sum(acc);
    }

    static Tensor softmax(Tensor x, boolean log) {
        x = CpuElementwise.dense(x);
        int n = x.dim() == 0 ? 1 : x.size(-1), rows = x.numel() / Math.max(n, 1), xo = x.offset();
        float[] xv = CpuElementwise.floats(x);
        Tensor y = CpuBackend.allocate(DType.FLOAT32, x.shapeRef());
        float[] yv = CpuElementwise.floats(y);
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(n, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int at = xo + r * n, out = r * n;
                float mx = max(xv, at, n);
                if (mx == Float.NEGATIVE_INFINITY) mx = 0f; // an all -inf row gives NaN (0/0), as in PyTorch
                if (log) {
                    float lse = mx + (float) Math.log(sumExp(xv, at, n, mx, null, 0));
                    for (int i = 0; i < n; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, n);
                        FloatVector.fromArray(S, xv, at + i, m).sub(lse).intoArray(yv, out + i, m);
                    }
                } else {
                    float inv = 1f / sumExp(xv, at, n, mx, yv, out);
                    for (int i = 0; i < n; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, n);
                        FloatVector.fromArray(S, yv, out + i, m).mul(inv).intoArray(yv, out + i, m);
                    }
                }
            }
        });
        return y;
    }

    /** softmax: dx = y·(dy - Σ dy·y);  log-softmax: dx = dy - exp(y)·Σ dy. */
    static Tensor softmaxBackward(Tensor y, Tensor dy, boolean log) {
        y = CpuElementwise.dense(y);
        dy = CpuElementwise.dense(dy);
        int n = y.dim() == 0 ? 1 : y.size(-1), rows = y.numel() / Math.max(n, 1), yo = y.offset(), go = dy.offset();
        float[] yv = CpuElementwise.floats(y), gv = CpuElementwise.floats(dy);
        Tensor dx = CpuBackend.allocate(DType.FLOAT32, y.shapeRef());
        float[] dv = CpuElementwise.floats(dx);
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(n, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int ya = yo + r * n, ga = go + r * n, out = r * n;
                FloatVector acc = FloatVector.zero(S);
                for (int i = 0; i < n; i += L) {
                    VectorMask<Float> m = S.indexInRange(i, n);
                    FloatVector g = FloatVector.fromArray(S, gv, ga + i, m);
                    acc = log ? acc.add(g) : g.fma(FloatVector.fromArray(S, yv, ya + i, m), acc);
                }
                float s = VectorMath.sum(acc);
                for (int i = 0; i < n; i += L) {
                    VectorMask<Float> m = S.indexInRange(i, n);
                    FloatVector g = FloatVector.fromArray(S, gv, ga + i, m), yy = FloatVector.fromArray(S, yv, ya + i, m);
                    FloatVector d = log ? g.sub(VectorMath.exp(yy).mul(s)) : yy.mul(g.sub(s));
                    d.intoArray(dv, out + i, m);
                }
            }
        });
        return dx;
    }

    private static long target(Tensor targets, int row) {
        CpuStorage s = (CpuStorage) targets.storage();
        return s.getLong(targets.offset() + row * (targets.dim() == 0 ? 0 : targets.stride(0)));
    }

    static void checkTargets(Tensor logits, Tensor targets, long ignoreIndex) {
        if (logits.dim() != 2 || targets.dim() != 1 || targets.size(0) != logits.size(0)) {
            throw new IllegalArgumentException("cross entropy needs logits [N, C] and targets [N], got " + Shape.str(logits.shapeRef()) + " and " + Shape.str(targets.shapeRef()));
        }
        if (targets.dtype() != DType.INT64 && targets.dtype() != DType.INT32) {
            throw new IllegalArgumentException("cross entropy targets must be int64 or int32 class indices, got " + targets.dtype());
        }
        int classes = logits.size(1);
        for (int r = 0; r < targets.size(0); r++) {
            long t = target(targets, r);
            if (t != ignoreIndex && (t < 0 || t >= classes)) {
                throw new IndexOutOfBoundsException("cross entropy target " + t + " at row " + r + " is out of range for " + classes + " classes");
            }
        }
    }

    static Tensor[] crossEntropy(Tensor logits, Tensor targets, long ignoreIndex) {
        checkTargets(logits, targets, ignoreIndex);
        logits = CpuElementwise.dense(logits);
        int rows = logits.size(0), n = logits.size(1), xo = logits.offset();
        float[] xv = CpuElementwise.floats(logits);
        Tensor loss = CpuBackend.allocate(DType.FLOAT32, new int[] {rows});
        Tensor lse = CpuBackend.allocate(DType.FLOAT32, new int[] {rows});
        float[] lv = CpuElementwise.floats(loss), sv = CpuElementwise.floats(lse);
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(n, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int at = xo + r * n;
                float mx = max(xv, at, n);
                float l = mx + (float) Math.log(sumExp(xv, at, n, mx, null, 0));
                sv[r] = l;
                long t = target(targets, r);
                lv[r] = t == ignoreIndex ? 0f : l - xv[at + (int) t];
            }
        });
        return new Tensor[] {loss, lse};
    }

    static Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor logsumexp, Tensor dloss, long ignoreIndex) {
        logits = CpuElementwise.dense(logits);
        logsumexp = CpuElementwise.dense(logsumexp);
        dloss = CpuElementwise.dense(dloss);
        int rows = logits.size(0), n = logits.size(1), xo = logits.offset();
        float[] xv = CpuElementwise.floats(logits), sv = CpuElementwise.floats(logsumexp), dl = CpuElementwise.floats(dloss);
        int so = logsumexp.offset(), dlo = dloss.offset();
        Tensor dx = CpuBackend.allocate(DType.FLOAT32, logits.shapeRef());
        float[] dv = CpuElementwise.floats(dx);
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(n, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int at = xo + r * n, out = r * n;
                long t = target(targets, r);
                if (t == ignoreIndex) {
                    java.util.Arrays.fill(dv, out, out + n, 0f);
                    continue;
                }
                float g = dl[dlo + r], l = sv[so + r];
                for (int i = 0; i < n; i += L) {
                    VectorMask<Float> m = S.indexInRange(i, n);
                    VectorMath.exp(FloatVector.fromArray(S, xv, at + i, m).sub(l)).mul(g).intoArray(dv, out + i, m);
                }
                dv[out + (int) t] -= g;
            }
        });
        return dx;
    }
}
