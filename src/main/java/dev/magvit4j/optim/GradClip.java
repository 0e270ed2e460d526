package dev.magvit4j.optim;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {

    private GradClip() {}

    /**
     * The global L2 norm of the parameters' gradients (NaN or Inf if any element is). The sum of
     * squares stays on the gradients' device ({@code Backend.sumOfSquares}) and is read once: on
     * a GPU a read per parameter would wait for the queue to drain each time.
     */
    public static double norm(Iterable<Tensor> params) {
        return norm(grads(params));
    }

    private static double norm(List<Tensor> grads) {
        try (var ignored = Autograd.noGrad()) {
            double sum = 0;
            for (var e : Backends.byBackend(grads).entrySet()) sum += e.getKey().sumOfSquares(Backends.pick(grads, e.getValue())).item();
            return Math.sqrt(sum);
        }
    }

    /**
     * Scales all gradients in place by maxNorm / (norm + 1e-6) when their global L2 norm exceeds
     * maxNorm. Returns the norm before clipping.
     */
    public static float clipGradNorm(Iterable<Tensor> params, float maxNorm) {
        try (var ignored = Autograd.noGrad()) {
            List<Tensor> grads = grads(params);
            float norm = (float) norm(grads);
            float coef = maxNorm / (norm + 1e-6f);
            if (coef < 1f) {
                Backends.byBackend(grads).forEach((be, at) -> {
                    List<Tensor> g = Backends.pick(grads, at);
                    be.axpbys(0f, g, coef, g);
                });
            }
            return norm;
        }
    }

    private static List<Tensor> grads(Iterable<Tensor> params) {
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) grads.add(p.grad());
        return grads;
    }
}
