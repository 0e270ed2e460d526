package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaSwiglu {

    private CudaSwiglu() {}

    static Tensor forward(CudaBackend be, Tensor a, Tensor b) {
        throw new UnsupportedOperationException("CudaSwiglu.forward is not written yet");
    }

    static Tensor[] backward(CudaBackend be, Tensor a, Tensor b, Tensor dout) {
        throw new UnsupportedOperationException("CudaSwiglu.backward is not written yet");
    }
}
