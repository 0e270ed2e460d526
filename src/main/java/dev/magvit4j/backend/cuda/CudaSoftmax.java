package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaSoftmax {

    private CudaSoftmax() {}

    static Tensor softmax(CudaBackend be, Tensor x, boolean log) {
        throw new UnsupportedOperationException("CudaSoftmax.softmax is not written yet");
    }

    static Tensor softmaxBackward(CudaBackend be, Tensor y, Tensor dy, boolean log) {
        throw new UnsupportedOperationException("CudaSoftmax.softmaxBackward is not written yet");
    }

    static Tensor[] crossEntropy(CudaBackend be, Tensor logits, Tensor targets, long ignoreIndex) {
        throw new UnsupportedOperationException("CudaSoftmax.crossEntropy is not written yet");
    }

    static Tensor crossEntropyBackward(CudaBackend be, Tensor logits, Tensor targets, Tensor logsumexp, Tensor dloss, long ignoreIndex) {
        throw new UnsupportedOperationException("CudaSoftmax.crossEntropyBackward is not written yet");
    }
}
