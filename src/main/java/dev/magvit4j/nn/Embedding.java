package dev.magvit4j.nn;

import dev.magvit4j.ops.Indexing;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/** A lookup table [count, dim], initialised N(0, 1) as in PyTorch. */
public final class Embedding extends Module {

    public final Tensor weight;

    public Embedding(int count, int dim) {
        this(count, dim, Generator.global());
    }

    public Embedding(int count, int dim, Generator gen) {
        this.weight = parameter("weight", Init.normal(Tensor.empty(DType.FLOAT32, count, dim), 0, 1, gen));
    }

    /** Rows for integer indices of any shape: [..., dim]. */
    public Tensor forward(Tensor indices) {
        return Indexing.embedding(weight, indices.to(weight.device()));
    }
}
