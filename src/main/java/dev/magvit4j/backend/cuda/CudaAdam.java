package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Fused Adam / AdamW steps in place: one parameter per launch, or a whole optimiser group in
 * launches of up to {@link CudaTensors#LIST_TENSORS} parameters. Kernels: kernels/adam.cu. CPU:
 * CpuAdam (same formula and scalar folding).
 */
final class CudaAdam {

    private CudaAdam() {}

    static void step(CudaBackend be, Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                     float weightDecay, boolean decoupled, long step) {
        check(param, grad, m, v);
        grad = CudaElementwise.floatView(grad);
        int n = param.numel();
        if (n == 0) return;
        be.device.launch("adam", "adam_step", CudaElementwise.packedBlocks(be, n), 1, 1, THREADS, 0,
                args(new Object[] {ptr(param), base(grad), layout(grad), ptr(m), ptr(v), n}, scalars(lr, beta1, beta2, eps, weightDecay, decoupled, step)));
    }

    /** The step for each parameter i; those with a contiguous float32 gradient go through adam_steps together. */
    static void steps(CudaBackend be, List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float lr, float beta1, float beta2,
                      float eps, float weightDecay, boolean decoupled, long step) {
        Backend.requireSameLengths("adamSteps", params, grads, m, v);
        List<Tensor[]> rows = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i), g = grads.get(i);
            check(p, g, m.get(i), v.get(i));
            if (p.numel() == 0) continue;
            if (g.isContiguous() && g.dtype() == DType.FLOAT32) rows.add(new Tensor[] {p, g, m.get(i), v.get(i)});
            else step(be, p, g, m.get(i), v.get(i), lr, beta1, beta2, eps, weightDecay, decoupled, step);
        }
        launchList(be, "adam", "adam_steps", rows, scalars(lr, beta1, beta2, eps, weightDecay, decoupled, step));
    }

    private static void check(Tensor param, Tensor grad, Tensor m, Tensor v) {
        for (Tensor t : new Tensor[] {param, m, v}) {
            if (!t.isContiguous()) throw new IllegalArgumentException("adam updates contiguous tensors in place");
            if (t.dtype() != DType.FLOAT32) throw new IllegalArgumentException("adam updates float32 tensors, got " + t.dtype());
        }
        for (Tensor t : new Tensor[] {grad, m, v}) {
            if (!java.util.Arrays.equals(t.shapeRef(), param.shapeRef())) {
                throw new IllegalArgumentException("adam: param of shape " + Shape.str(param.shapeRef()) + " but a gradient or moment of shape " + Shape.str(t.shapeRef()));
            }
        }
    }

    /** The kernels' scalar arguments: beta1, beta2, eps, step_size, bc2_sqrt, decay, l2 (see adam.cu). */
    private static Object[] scalars(float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled, long step) {
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        float stepSize = lr / bc1, decay = decoupled ? 1f - lr * weightDecay : 1f, l2 = decoupled ? 0f : weightDecay;
        return new Object[] {beta1, beta2, eps, stepSize, bc2Sqrt, decay, l2};
    }
}
