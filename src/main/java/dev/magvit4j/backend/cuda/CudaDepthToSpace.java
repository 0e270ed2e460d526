package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaDepthToSpace {

    private CudaDepthToSpace() {}

    static Tensor apply(CudaBackend be, Tensor x, int block, boolean inverse) {
        throw new UnsupportedOperationException("CudaDepthToSpace.apply is not written yet");
    }
}
