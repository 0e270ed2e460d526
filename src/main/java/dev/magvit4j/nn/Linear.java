package dev.magvit4j.nn;

import dev.magvit4j.ops.LinearAlgebra;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/** y = x·Wᵀ + b, weight [out, in], bias [out]. */
public final class Linear extends Module implements Layer {

    public final Tensor weight;
    public final Tensor bias;

    public Linear(int in, int out, boolean bias) {
        this(in, out, bias, Generator.global());
    }

    public Linear(int in, int out, boolean bias, Generator gen) {
        this.weight = parameter("weight", Init.kaimingUniform(Tensor.empty(DType.FLOAT32, out, in), gen));
        this.bias = bias ? parameter("bias", Init.biasUniform(Tensor.empty(DType.FLOAT32, out), in, gen)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        return LinearAlgebra.linear(x, weight, bias);
    }
}
