package dev.magvit4j.nn;

import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.Tensor;

/** LayerNorm over the last dim, with weight (ones) and bias (zeros). */
public final class LayerNorm extends Module implements Layer {

    public final float eps;
    public final Tensor weight, bias;

    public LayerNorm(int dim, float eps) {
        this.eps = eps;
        this.weight = parameter("weight", Tensor.ones(dim));
        this.bias = parameter("bias", Tensor.zeros(dim));
    }

    @Override
    public Tensor forward(Tensor x) {
        return Normalization.layerNorm(x, 1, weight, bias, eps);
    }
}
