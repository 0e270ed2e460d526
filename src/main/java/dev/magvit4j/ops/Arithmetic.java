package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backend.BinaryOp;
import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.backend.Backend.UnaryOp;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

/** Elementwise arithmetic with broadcasting, and the activation functions. */
public final class Arithmetic {

    private Arithmetic() {}

    public static Tensor add(Tensor a, Tensor b) {
        Tensor out = Backends.of(a, b).binary(BinaryOp.ADD, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record(out, "add", g -> new Tensor[] {sumTo(g, as), sumTo(g, bs)}, a, b);
    }

    public static Tensor sub(Tensor a, Tensor b) {
        Tensor out = Backends.of(a, b).binary(BinaryOp.SUB, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record(out, "sub", g -> new Tensor[] {sumTo(g, as), b.requiresGrad() ? sumTo(affine(g, -1f, 0f), bs) : null}, a, b);
    }

    public static Tensor mul(Tensor a, Tensor b) {
        Tensor out = Backends.of(a, b).binary(BinaryOp.MUL, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record(out, "mul", g -> new Tensor[] {
                a.requiresGrad() ? sumTo(mul(g, b), as) : null,
                b.requiresGrad() ? sumTo(mul(g, a), bs) : null}, a, b);
    }

    public static Tensor div(Tensor a, Tensor b) {
        Tensor out = Backends.of(a, b).binary(BinaryOp.DIV, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record(out, "div", g -> new Tensor[] {
                a.requiresGrad() ? sumTo(div(g, b), as) : null,
                b.requiresGrad() ? sumTo(affine(div(mul(g, out), b), -1f, 0f), bs) : null}, a, b);
    }

    /** Elementwise max; on ties each side gets half the gradient (as PyTorch). */
    public static Tensor maximum(Tensor a, Tensor b) {
        return extremum(BinaryOp.MAXIMUM, BinaryOp.GT, a, b);
    }

    public static Tensor minimum(Tensor a, Tensor b) {
        return extremum(BinaryOp.MINIMUM, null, a, b);
    }

    private static Tensor extremum(BinaryOp op, BinaryOp wins, Tensor a, Tensor b) {
        Backend be = Backends.of(a, b);
        Tensor out = be.binary(op, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record(out, op.name().toLowerCase(), g -> {
            // Share of the gradient that goes to a: 1 where a wins, 1/2 on ties, 0 where b wins.
            Tensor aWins = wins == BinaryOp.GT ? be.binary(BinaryOp.GT, a, b) : be.binary(BinaryOp.GT, b, a);
            Tensor share = be.binary(BinaryOp.ADD, aWins, be.affine(be.binary(BinaryOp.EQ, a, b), 0.5f, 0f));
            Tensor ga = mul(g, share), gb = sub(g, ga);
            return new Tensor[] {sumTo(ga, as), sumTo(gb, bs)};
        }, a, b);
    }

    /** x·scale + shift. */
    public static Tensor affine(Tensor x, float scale, float shift) {
        Tensor out = x.backend().affine(x, scale, shift);
        return Autograd.record(out, "affine", g -> new Tensor[] {affine(g, scale, 0f)}, x);
    }

    /** Comparison, as 1.0 / 0.0 (no gradient). */
    public static Tensor compare(BinaryOp op, Tensor a, Tensor b) {
        if (op != BinaryOp.EQ && op != BinaryOp.GT && op != BinaryOp.GE) throw new IllegalArgumentException(op + " is not a comparison");
        return Backends.of(a, b).binary(op, a, b);
    }

    public static Tensor unary(UnaryOp op, Tensor x) {
        return unary(op, x, 0f);
    }

    /** op(x); alpha is POW's exponent and LEAKY_RELU's negative slope. */
    public static Tensor unary(UnaryOp op, Tensor x, float alpha) {
        Backend be = x.backend();
        Tensor y = be.unary(op, alpha, x);
        return Autograd.record(y, op.name().toLowerCase(), g -> new Tensor[] {be.unaryBackward(op, alpha, x, y, g)}, x);
    }

    /** Sums a broadcast gradient back to the shape of the input it came from. */
    public static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.shapeRef();
        if (Arrays.equals(gs, shape)) return g;
        int lead = gs.length - shape.length;
        if (lead < 0) throw new IllegalArgumentException("cannot sum shape " + Shape.str(gs) + " to the larger " + Shape.str(shape));
        int[] dims = new int[gs.length];
        int n = 0;
        for (int d = 0; d < gs.length; d++) {
            if (d < lead || (shape[d - lead] == 1 && gs[d] != 1)) dims[n++] = d;
        }
        Tensor s = n == 0 ? g : g.backend().reduce(ReduceOp.SUM, g, Arrays.copyOf(dims, n), true);
        return Views.reshape(s, shape);
    }
}
