package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** Embedding lookup, gather, and dropout. */
public final class Indexing {

    private Indexing() {}

    /** Rows of weight [N, D] picked by integer indices of any shape: out [..., D]. */
    public static Tensor embedding(Tensor weight, Tensor indices) {
        Softmax.requireIndices(indices, "embedding indices");
        Backend be = Backends.of(weight, indices);
        Tensor out = be.embedding(weight, indices);
        int rows = weight.size(0);
        return Autograd.record(out, "embedding", g -> new Tensor[] {be.embeddingBackward(g, indices, rows), null}, weight, indices);
    }

    /** torch.gather along dim: out has the index's shape. */
    public static Tensor gather(Tensor x, int dim, Tensor index) {
        Softmax.requireIndices(index, "gather index");
        int d = Shape.dim(dim, x.dim());
        Backend be = Backends.of(x, index);
        Tensor out = be.gather(x, d, index);
        int[] xs = x.shape();
        return Autograd.record(out, "gather", g -> new Tensor[] {be.scatterAdd(xs, d, index, g), null}, x, index);
    }

    /** Zeroes each element with probability p and scales the rest by 1/(1-p); identity when not training. */
    public static Tensor dropout(Tensor x, float p, boolean training, Generator gen) {
        if (!training || p == 0f) return x;
        Tensor mask = x.backend().dropoutMask(x.shapeRef(), p, gen);
        return Arithmetic.mul(x, mask);
    }
}
