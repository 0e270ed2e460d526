package dev.magvit4j.nn;

import dev.magvit4j.ops.Indexing;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/** Dropout with probability p in training mode, identity in eval mode. */
public final class Dropout extends Module implements Layer {

    public final float p;
    private final Generator gen;

    public Dropout(float p) {
        this(p, Generator.global());
    }

    public Dropout(float p, Generator gen) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        this.p = p;
        this.gen = gen;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Indexing.dropout(x, p, isTraining(), gen);
    }
}
