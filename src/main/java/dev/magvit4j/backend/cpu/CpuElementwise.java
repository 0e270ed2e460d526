package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.Backend.BinaryOp;
import dev.magvit4j.backend.Backend.UnaryOp;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise kernels. Each formula is written once, on vectors; loop tails run the same code
 * under a lane mask. Operators are switch-selected per vector: the branch is loop-invariant
 * and predicted, and these kernels are bound by memory bandwidth anyway.
 */
final class CpuElementwise {

    private CpuElementwise() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int GRAIN = 1 << 14;

    // ---------------------------------------------------------------- unary

    /** sqrt(2/pi) and the cubic coefficient of the tanh approximation of GELU. */
    private static final float GELU_K = 0.7978845608028654f, GELU_C = 0.044715f;
    /** PyTorch's softplus threshold: above it softplus(x) = x. */
    private static final float SOFTPLUS_THRESHOLD = 20f;

    private static FloatVector forward(UnaryOp op, float alpha, FloatVector x) {
        return switch (op) {
            case EXP -> VectorMath.exp(x);
            case LOG -> VectorMath.log(x);
            case SQRT -> x.sqrt();
            case RSQRT -> FloatVector.broadcast(S, 1f).div(x.sqrt());
            case ABS -> x.abs();
            case SQUARE -> x.mul(x);
            case POW -> VectorMath.pow(x, alpha);
            case RELU -> x.blend(0f, x.compare(VectorOperators.LT, 0f)); // not max(): Math.max's NaN rules cost extra instructions
            case LEAKY_RELU -> x.blend(x.mul(alpha), x.lt(0f));
            case SIGMOID -> VectorMath.sigmoid(x);
            case SILU -> x.mul(VectorMath.sigmoid(x));
            case SOFTPLUS -> VectorMath.softplus(x).blend(x, x.compare(VectorOperators.GT, SOFTPLUS_THRESHOLD));
            case GELU_TANH -> {
                FloatVector u = x.mul(x).mul(GELU_C).add(1f).mul(x).mul(GELU_K);
                yield VectorMath.tanh(u).add(1f).mul(x).mul(0.5f);
            }
            case TANH -> VectorMath.tanh(x);
            case SIGN -> FloatVector.zero(S).blend(1f, x.compare(VectorOperators.GT, 0f)).blend(-1f, x.lt(0f));
        };
    }

    /** dx = dy * op'(x), with y = op(x). */
    private static FloatVector backward(UnaryOp op, float alpha, FloatVector x, FloatVector y, FloatVector dy) {
        return switch (op) {
            case EXP -> dy.mul(y);
            case LOG -> dy.div(x);
            case SQRT -> dy.mul(0.5f).div(y);
            case RSQRT -> dy.mul(-0.5f).mul(y).mul(y).mul(y);
            case ABS -> dy.mul(forward(UnaryOp.SIGN, 0f, x));
            case SQUARE -> dy.mul(x).mul(2f);
            case POW -> alpha == 0f ? FloatVector.zero(S) : dy.mul(alpha).mul(VectorMath.pow(x, alpha - 1f));
            case RELU -> FloatVector.zero(S).blend(dy, x.compare(VectorOperators.GT, 0f));
            case LEAKY_RELU -> dy.mul(alpha).blend(dy, x.compare(VectorOperators.GT, 0f));
            case SIGMOID -> dy.mul(y).mul(y.neg().add(1f));
            case SILU -> {
                FloatVector s = VectorMath.sigmoid(x);
                yield dy.mul(s.mul(x.mul(s.neg().add(1f)).add(1f)));
            }
            case SOFTPLUS -> dy.mul(VectorMath.sigmoid(x)).blend(dy, x.compare(VectorOperators.GT, SOFTPLUS_THRESHOLD));
            case GELU_TANH -> {
                FloatVector x2 = x.mul(x);
                FloatVector t = VectorMath.tanh(x2.mul(GELU_C).add(1f).mul(x).mul(GELU_K));
                FloatVector du = x2.mul(3f * GELU_C).add(1f).mul(GELU_K);
                FloatVector d = t.add(1f).mul(0.5f).add(x.mul(0.5f).mul(t.mul(t).neg().add(1f)).mul(du));
                yield dy.mul(d);
            }
            case TANH -> dy.mul(y.mul(y).neg().add(1f));
            case SIGN -> FloatVector.zero(S);
        };
    }

    static Tensor unary(UnaryOp op, float alpha, Tensor x) {
        float[] in = floats(x = dense(x));
        int xo = x.offset(), n = x.numel();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, x.shapeRef());
        float[] o = floats(out);
        Parallel.forRange(n, GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i += L) {
                VectorMask<Float> m = S.indexInRange(i, i1);
                forward(op, alpha, FloatVector.fromArray(S, in, xo + i, m)).intoArray(o, i, m);
            }
        });
        return out;
    }

    static Tensor unaryBackward(UnaryOp op, float alpha, Tensor x, Tensor y, Tensor dy) {
        x = dense(x);
        y = y == null ? unary(op, alpha, x) : dense(y);
        dy = dense(dy);
        float[] xa = floats(x), ya = floats(y), ga = floats(dy);
        int xo = x.offset(), yo = y.offset(), go = dy.offset(), n = x.numel();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, x.shapeRef());
        float[] o = floats(out);
        Parallel.forRange(n, GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i += L) {
                VectorMask<Float> m = S.indexInRange(i, i1);
                FloatVector xv = FloatVector.fromArray(S, xa, xo + i, m);
                FloatVector yv = FloatVector.fromArray(S, ya, yo + i, m);
                FloatVector gv = FloatVector.fromArray(S, ga, go + i, m);
                backward(op, alpha, xv, yv, gv).intoArray(o, i, m);
            }
        });
        return out;
    }

    // ---------------------------------------------------------------- binary

    private static FloatVector apply(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case MAXIMUM -> a.max(b);
            case MINIMUM -> a.min(b);
            case EQ -> FloatVector.zero(S).blend(1f, a.eq(b));
            case GT -> FloatVector.zero(S).blend(1f, a.compare(VectorOperators.GT, b));
            case GE -> FloatVector.zero(S).blend(1f, a.compare(VectorOperators.GE, b));
        };
    }

    private static float apply(BinaryOp op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case MAXIMUM -> Math.max(a, b);
            case MINIMUM -> Math.min(a, b);
            case EQ -> a == b ? 1f : 0f;
            case GT -> a > b ? 1f : 0f;
            case GE -> a >= b ? 1f : 0f;
        };
    }

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        requireFloat(a, op);
        requireFloat(b, op);
        int[] shape = Shape.broadcast(a.shapeRef(), b.shapeRef());
        Tensor out = CpuBackend.allocate(DType.FLOAT32, shape);
        Strided g = Strided.of(shape,
                new int[][] {broadcastStrides(a, shape), broadcastStrides(b, shape), out.stridesRef()},
                new int[] {a.offset(), b.offset(), 0});
        float[] av = floats(a), bv = floats(b), ov = floats(out);
        int inner = g.inner(), sa = g.innerStride(0), sb = g.innerStride(1);
        Parallel.forRange(g.rows(), Math.max(1, GRAIN / Math.max(inner, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                row(op, av, g.rowOffset(0, r), sa, bv, g.rowOffset(1, r), sb, ov, g.rowOffset(2, r), inner);
            }
        });
        return out;
    }

    private static void row(BinaryOp op, float[] a, int ao, int sa, float[] b, int bo, int sb, float[] o, int oo, int n) {
        if (sa == 1 && sb == 1) {
            for (int i = 0; i < n; i += L) {
                VectorMask<Float> m = S.indexInRange(i, n);
                apply(op, FloatVector.fromArray(S, a, ao + i, m), FloatVector.fromArray(S, b, bo + i, m)).intoArray(o, oo + i, m);
            }
        } else if (sa == 1 && sb == 0) {
            FloatVector bb = FloatVector.broadcast(S, b[bo]);
            for (int i = 0; i < n; i += L) {
                VectorMask<Float> m = S.indexInRange(i, n);
                apply(op, FloatVector.fromArray(S, a, ao + i, m), bb).intoArray(o, oo + i, m);
            }
        } else if (sa == 0 && sb == 1) {
            FloatVector ab = FloatVector.broadcast(S, a[ao]);
            for (int i = 0; i < n; i += L) {
                VectorMask<Float> m = S.indexInRange(i, n);
                apply(op, ab, FloatVector.fromArray(S, b, bo + i, m)).intoArray(o, oo + i, m);
            }
        } else {
            for (int i = 0; i < n; i++) o[oo + i] = apply(op, a[ao + i * sa], b[bo + i * sb]);
        }
    }

    /** Strides of t read as the broadcast shape: 0 on expanded and on missing leading dims. */
    static int[] broadcastStrides(Tensor t, int[] shape) {
        int[] ts = t.shapeRef(), st = t.stridesRef();
        int[] out = new int[shape.length];
        int lead = shape.length - ts.length;
        for (int d = 0; d < ts.length; d++) out[lead + d] = ts[d] == 1 ? 0 : st[d];
        return out;
    }

    // ---------------------------------------------------------------- affine, axpby

    static Tensor affine(Tensor x, float scale, float shift) {
        requireFloat(x, "affine");
        x = dense(x);
        float[] in = floats(x);
        int xo = x.offset();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, x.shapeRef());
        float[] o = floats(out);
        Parallel.forRange(x.numel(), GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i += L) {
                VectorMask<Float> m = S.indexInRange(i, i1);
                FloatVector.fromArray(S, in, xo + i, m).fma(scale, shift).intoArray(o, i, m);
            }
        });
        return out;
    }

    static void axpby(float a, Tensor x, float b, Tensor y) {
        if (!java.util.Arrays.equals(x.shapeRef(), y.shapeRef())) {
            throw new IllegalArgumentException("axpby: x of shape " + Shape.str(x.shapeRef()) + " and y of shape " + Shape.str(y.shapeRef()));
        }
        if (!y.isContiguous()) throw new IllegalArgumentException("axpby writes into a contiguous y");
        x = dense(x);
        float[] xv = floats(x), yv = floats(y);
        int xo = x.offset(), yo = y.offset();
        Parallel.forRange(x.numel(), GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i += L) {
                VectorMask<Float> m = S.indexInRange(i, i1);
                FloatVector xx = FloatVector.fromArray(S, xv, xo + i, m);
                FloatVector yy = FloatVector.fromArray(S, yv, yo + i, m);
                xx.mul(a).add(yy.mul(b)).intoArray(yv, yo + i, m);
            }
        });
    }

    // ---------------------------------------------------------------- helpers

    /** x itself when contiguous float32, else a contiguous float32 copy. */
    static Tensor dense(Tensor x) {
        if (x.isContiguous() && x.dtype() == DType.FLOAT32) return x;
        Tensor c = CpuBackend.allocate(DType.FLOAT32, x.shapeRef());
        CpuCopy.copy(x, c);
        return c;
    }

    static float[] floats(Tensor t) {
        return ((CpuStorage) t.storage()).floats();
    }

    private static void requireFloat(Tensor t, Object op) {
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(op.toString().toLowerCase(java.util.Locale.ROOT) + " needs float32 tensors, got " + t.dtype());
        }
    }
}
