package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaRope {

    private CudaRope() {}

    static Tensor rope(CudaBackend be, Tensor x, Tensor cos, Tensor sin, boolean inverse) {
        throw new UnsupportedOperationException("CudaRope.rope is not written yet");
    }
}
