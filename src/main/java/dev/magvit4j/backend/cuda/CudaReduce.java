package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend.*;
import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaReduce {

    private CudaReduce() {}

    static Tensor reduce(CudaBackend be, ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        throw new UnsupportedOperationException("CudaReduce.reduce is not written yet");
    }

    static Tensor variance(CudaBackend be, Tensor x, int[] dims, int correction, boolean keepDim) {
        throw new UnsupportedOperationException("CudaReduce.variance is not written yet");
    }

    static Tensor argmax(CudaBackend be, Tensor x, int dim, boolean keepDim) {
        throw new UnsupportedOperationException("CudaReduce.argmax is not written yet");
    }
}
