package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** Matrix products: matmul (batched, broadcast) and the linear layer x·Wᵀ + b. */
public final class LinearAlgebra {

    private LinearAlgebra() {}

    /**
     * a [..., M, K] @ b [..., K, N] with broadcast batch dims; a 1-D operand is a row (a) or a
     * column (b) vector, as in PyTorch.
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        if (a.dim() == 0 || b.dim() == 0) {
            throw new IllegalArgumentException("matmul of a 0-dimensional tensor: shapes " + Shape.str(a.shapeRef()) + " and " + Shape.str(b.shapeRef()));
        }
        if (a.dim() == 1 && b.dim() == 1) return Views.reshape(matmul(Views.unsqueeze(a, 0), Views.unsqueeze(b, 1)));
        if (a.dim() == 1) return Views.squeeze(matmul(Views.unsqueeze(a, 0), b), -2);
        if (b.dim() == 1) return Views.squeeze(matmul(a, Views.unsqueeze(b, 1)), -1);
        Tensor out = Backends.of(a, b).matmul(a, b, null);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record(out, "matmul", g -> new Tensor[] {
                a.requiresGrad() ? Arithmetic.sumTo(matmul(g, b.mT()), as) : null,
                b.requiresGrad() ? Arithmetic.sumTo(matmul(a.mT(), g), bs) : null}, a, b);
    }

    /** x [..., in] · weight [out, in]ᵀ + bias [out] (bias may be null). */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (weight.dim() != 2 || x.dim() < 1 || x.size(-1) != weight.size(1)) {
            throw new IllegalArgumentException("linear of input " + Shape.str(x.shapeRef()) + " with weight " + Shape.str(weight.shapeRef()) + ": weight must be [out, " + (x.dim() < 1 ? "?" : x.size(-1)) + "]");
        }
        Backend be = Backends.of(x, weight, bias);
        int in = weight.size(1), outDim = weight.size(0);
        int[] xs = x.shape();
        int[] outShape = xs.clone();
        outShape[outShape.length - 1] = outDim;
        Tensor x2 = x.detach().reshape(-1, in);
        Tensor out = be.matmul(x2, weight.detach().mT(), bias).reshape(outShape).detach();
        return Autograd.record(out, "linear", g -> {
            Tensor g2 = g.reshape(-1, outDim);
            return new Tensor[] {
                    x.requiresGrad() ? be.matmul(g2, weight, null).reshape(xs) : null,
                    weight.requiresGrad() ? be.matmul(g2.mT(), x2, null) : null,
                    bias != null && bias.requiresGrad() ? be.reduce(ReduceOp.SUM, g2, new int[] {0}, false) : null};
        }, x, weight, bias);
    }
}
