package dev.magvit4j.nn;

import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.Tensor;

/** GroupNorm over [B, C, *] with optional per-channel weight (ones) and bias (zeros). */
public final class GroupNorm extends Module implements Layer {

    public final int groups;
    public final float eps;
    public final Tensor weight;
    public final Tensor bias;

    public GroupNorm(int groups, int channels, float eps, boolean affine) {
        if (channels % groups != 0) throw new IllegalArgumentException(channels + " channels cannot be split into " + groups + " groups");
        this.groups = groups;
        this.eps = eps;
        this.weight = affine ? parameter("weight", Tensor.ones(channels)) : null;
        this.bias = affine ? parameter("bias", Tensor.zeros(channels)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Normalization.groupNorm(x, groups, weight, bias, eps);
    }

    /** silu(forward(x)), fused into one pass. */
    public Tensor forwardSilu(Tensor x) {
        return Normalization.groupNormSilu(x, groups, weight, bias, eps);
    }
}
