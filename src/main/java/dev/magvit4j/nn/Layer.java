package dev.magvit4j.nn;

import dev.magvit4j.tensor.Tensor;

/** A module with one input and one output, which is what {@link Sequential} chains. */
public interface Layer {
    Tensor forward(Tensor x);
}
