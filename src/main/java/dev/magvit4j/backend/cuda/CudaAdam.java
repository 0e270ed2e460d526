package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaAdam {

    private CudaAdam() {}

    static void step(CudaBackend be, Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                         float weightDecay, boolean decoupled, long step) {
        throw new UnsupportedOperationException("CudaAdam.step is not written yet");
    }
}
