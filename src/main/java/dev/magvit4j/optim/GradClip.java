package dev.magvit4j.optim;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.ops.Views;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {

    private GradClip() {}

    /**
     * The global L2 norm of the parameters' gradients (NaN or Inf if any element is). The
     * per-parameter sums of squares stay on the gradients' device and are read once: on a GPU a
     * read per parameter would wait for the queue to drain each time.
     */
    public static double norm(Iterable<Tensor> params) {
        List<Tensor> squares = new ArrayList<>();
        try (var ignored = Autograd.noGrad()) {
            for (Tensor p : params) if (p.grad() != null) squares.add(p.grad().square().sum().reshape(1));
            return squares.isEmpty() ? 0 : Math.sqrt(Views.concat(squares, 0).sum().item());
        }
    }

    /**
     * Scales all gradients in place by maxNorm / (norm + 1e-6) when their global L2 norm exceeds
     * maxNorm. Returns the norm before clipping.
     */
    public static float clipGradNorm(Iterable<Tensor> params, float maxNorm) {
        try (var ignored = Autograd.noGrad()) {
            float norm = (float) norm(params);
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
