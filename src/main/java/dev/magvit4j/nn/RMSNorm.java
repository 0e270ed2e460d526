package dev.magvit4j.nn;

import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.Tensor;

/** x·rsqrt(mean(x²) + eps)·weight over the last dim (SPEC.md section 2). */
public final class RMSNorm extends Module implements Layer {

    public final float eps;
    public final Tensor weight;

    public RMSNorm(int dim, float eps) {
        this.eps = eps;
        this.weight = parameter("weight", Tensor.ones(dim));
    }

    @Override
    public Tensor forward(Tensor x) {
        return Normalization.rmsNorm(x, weight, eps);
    }
}
