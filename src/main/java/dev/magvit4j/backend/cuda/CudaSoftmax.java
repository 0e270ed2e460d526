package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** Not written yet (issue 5): every method says so and names --device cpu. */
final class CudaSoftmax {

    private CudaSoftmax() {}

    static Tensor softmax(CudaBackend be, Tensor x, boolean log) {
        throw new UnsupportedOperationException("CudaSoftmax.softmax has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor softmaxBackward(CudaBackend be, Tensor y, Tensor dy, boolean log) {
        throw new UnsupportedOperationException("CudaSoftmax.softmaxBackward has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor[] crossEntropy(CudaBackend be, Tensor logits, Tensor targets, long ignoreIndex) {
        throw new UnsupportedOperationException("CudaSoftmax.crossEntropy has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor crossEntropyBackward(CudaBackend be, Tensor logits, Tensor targets, Tensor logsumexp, Tensor dloss, long ignoreIndex) {
        throw new UnsupportedOperationException("CudaSoftmax.crossEntropyBackward has no CUDA kernel yet (issue 5); use --device cpu");
    }
}
