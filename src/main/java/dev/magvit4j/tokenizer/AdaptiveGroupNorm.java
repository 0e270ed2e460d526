package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.nn.Linear;
import dev.magvit4j.nn.Module;
import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/**
 * GroupNorm without affine, then a scale and shift predicted from the quantized latent q
 * (SPEC.md section 1): scale = gamma(sqrt(var_hw(q) + eps)), shift = beta(mean_hw(q)), with the
 * UNBIASED variance over the h·w latent positions, as the reference's {@code Tensor.var} default.
 */
public final class AdaptiveGroupNorm extends Module {

    private static final float EPS = 1e-6f;

    public final Linear gamma, beta;

    public AdaptiveGroupNorm(int zChannels, int channels) {
        this(zChannels, channels, Generator.global());
    }

    public AdaptiveGroupNorm(int zChannels, int channels, Generator gen) {
        gamma = child("gamma", new Linear(zChannels, channels, true, gen));
        beta = child("beta", new Linear(zChannels, channels, true, gen));
    }

    /** x [B, C, H, W] normalised and modulated by the statistics of q [B, z, h, w]. */
    public Tensor forward(Tensor x, Tensor q) {
        int hw = q.size(2) * q.size(3);
        if (hw < 2) {
            throw new IllegalArgumentException("adaptive group norm needs a latent of at least 2 positions for its unbiased variance, got "
                    + Shape.str(q.shapeRef()) + "; use an image of at least 2 latent pixels (e.g. twice the downsampling factor on one side)");
        }
        Tensor flat = q.reshape(q.size(0), q.size(1), hw);
        Tensor scale = gamma.forward(flat.var(true, 2).add(EPS).sqrt());
        Tensor shift = beta.forward(flat.mean(2));
        return Normalization.adaptiveGroupNorm(x, 32, scale, shift, EPS);
    }
}
