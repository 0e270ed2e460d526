package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/** One fused Adam / AdamW step in place. Kernel: kernels/adam.cu. CPU: CpuAdam (same formula and scalar folding). */
final class CudaAdam {

    private CudaAdam() {}

    static void step(CudaBackend be, Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                     float weightDecay, boolean decoupled, long step) {
        for (Tensor t : new Tensor[] {param, m, v}) {
            if (!t.isContiguous()) throw new IllegalArgumentException("adam updates contiguous tensors in place");
            if (t.dtype() != DType.FLOAT32) throw new IllegalArgumentException("adam updates float32 tensors, got " + t.dtype());
        }
        for (Tensor t : new Tensor[] {grad, m, v}) {
            if (!java.util.Arrays.equals(t.shapeRef(), param.shapeRef())) {
                throw new IllegalArgumentException("adam: param of shape " + Shape.str(param.shapeRef()) + " but a gradient or moment of shape " + Shape.str(t.shapeRef()));
            }
        }
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        float stepSize = lr / bc1, decay = decoupled ? 1f - lr * weightDecay : 1f, l2 = decoupled ? 0f : weightDecay;
        grad = CudaElementwise.floatView(grad);
        int n = param.numel();
        if (n == 0) return;
        be.device.launch("adam", "adam_step", CudaElementwise.packedBlocks(be, n), 1, 1, THREADS, 0,
                ptr(param), base(grad), layout(grad), ptr(m), ptr(v), n, beta1, beta2, eps, stepSize, bc2Sqrt, decay, l2);
    }
}
