package dev.magvit4j.optim;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.tensor.Tensor;

/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {

    private GradClip() {}

    /**
     * Scales all gradients in place by maxNorm / (norm + 1e-6) when their global L2 norm exceeds
     * maxNorm. Returns the norm before clipping.
     */
    public static float clipGradNorm(Iterable<Tensor> params, float maxNorm) {
        double sq = 0;
        try (var ignored = Autograd.noGrad()) {
            for (Tensor p : params) {
                Tensor g = p.grad();
                if (g == null) continue;
                sq += g.square().sum().item();
            }
            float norm = (float) Math.sqrt(sq);
            float coef = maxNorm / (norm + 1e-6f);
            if (coef < 1f) {
                for (Tensor p : params) {
                    Tensor g = p.grad();
                    if (g != null) g.backend().axpby(0f, g, coef, g);
                }
            }
            return norm;
        }
    }
}
