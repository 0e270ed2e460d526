package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** Not written yet (issue 5): every method says so and names --device cpu. */
final class CudaAttention {

    private CudaAttention() {}

    static Tensor[] forward(CudaBackend be, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        throw new UnsupportedOperationException("CudaAttention.forward has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor[] backward(CudaBackend be, Tensor q, Tensor k, Tensor v, Tensor out, Tensor logsumexp, Tensor dout, Tensor mask, boolean causal, float scale) {
        throw new UnsupportedOperationException("CudaAttention.backward has no CUDA kernel yet (issue 5); use --device cpu");
    }
}
