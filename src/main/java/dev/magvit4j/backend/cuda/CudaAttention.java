package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaAttention {

    private CudaAttention() {}

    static Tensor[] forward(CudaBackend be, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        throw new UnsupportedOperationException("CudaAttention.forward is not written yet");
    }

    static Tensor[] backward(CudaBackend be, Tensor q, Tensor k, Tensor v, Tensor out, Tensor logsumexp, Tensor dout, Tensor mask, boolean causal, float scale) {
        throw new UnsupportedOperationException("CudaAttention.backward is not written yet");
    }
}
