package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backend.BinaryOp;
import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** Reductions over any set of dims (all dims when none are given). */
public final class Reductions {

    private Reductions() {}

    private static int count(Tensor x, int[] dims) {
        int n = 1;
        for (int d : dims) n *= x.shapeRef()[d];
        return n;
    }

    /** g (reduced shape) brought back to x's shape by broadcasting. */
    private static Tensor spread(Tensor g, Tensor x, int[] dims) {
        return Views.expand(Views.reshape(g, Shape.reduced(x.shapeRef(), dims, true)), x.shapeRef());
    }

    public static Tensor sum(Tensor x, int[] dims, boolean keepDim) {
        int[] d = Shape.dims(dims, x.dim());
        Tensor out = x.backend().reduce(ReduceOp.SUM, x, d, keepDim);
        return Autograd.record(out, "sum", g -> new Tensor[] {spread(g, x, d)}, x);
    }

    public static Tensor mean(Tensor x, int[] dims, boolean keepDim) {
        int[] d = Shape.dims(dims, x.dim());
        Tensor out = x.backend().reduce(ReduceOp.MEAN, x, d, keepDim);
        float inv = 1f / count(x, d);
        return Autograd.record(out, "mean", g -> new Tensor[] {spread(Arithmetic.affine(g, inv, 0f), x, d)}, x);
    }

    /** Variance: unbiased divides by n - 1 (PyTorch's default), biased by n. */
    public static Tensor var(Tensor x, int[] dims, boolean unbiased, boolean keepDim) {
        int[] d = Shape.dims(dims, x.dim());
        int correction = unbiased ? 1 : 0, n = count(x, d);
        if (n - correction <= 0) {
            throw new IllegalArgumentException((unbiased ? "unbiased " : "") + "variance over " + n + " element(s) of shape " + Shape.str(x.shapeRef()) + " is undefined");
        }
        Tensor out = x.backend().variance(x, d, correction, keepDim);
        return Autograd.record(out, "var", g -> {
            // d var / dx = 2 (x - mean) / (n - correction)
            Tensor centered = Arithmetic.sub(x, x.backend().reduce(ReduceOp.MEAN, x, d, true));
            return new Tensor[] {Arithmetic.mul(centered, spread(Arithmetic.affine(g, 2f / (n - correction), 0f), x, d))};
        }, x);
    }

    public static Tensor max(Tensor x, int[] dims, boolean keepDim) {
        return extremum(ReduceOp.MAX, x, dims, keepDim);
    }

    public static Tensor min(Tensor x, int[] dims, boolean keepDim) {
        return extremum(ReduceOp.MIN, x, dims, keepDim);
    }

    /** The gradient goes to the elements equal to the extremum, shared evenly among ties. */
    private static Tensor extremum(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        int[] d = Shape.dims(dims, x.dim());
        Backend be = x.backend();
        Tensor out = be.reduce(op, x, d, keepDim);
        return Autograd.record(out, op.name().toLowerCase(), g -> {
            Tensor hit = be.binary(BinaryOp.EQ, x, Views.reshape(out.detach(), Shape.reduced(x.shapeRef(), d, true)));
            Tensor ties = be.reduce(ReduceOp.SUM, hit, d, true);
            Tensor share = be.binary(BinaryOp.DIV, hit, ties);
            return new Tensor[] {Arithmetic.mul(share, spread(g, x, d))};
        }, x);
    }

    /** Index of the first maximum along dim, int64 (no gradient). */
    public static Tensor argmax(Tensor x, int dim, boolean keepDim) {
        return x.backend().argmax(x, Shape.dim(dim, x.dim()), keepDim);
    }
}
