package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend.*;
import dev.magvit4j.tensor.Tensor;

/** Not written yet (issue 5): every method says so and names --device cpu. */
final class CudaReduce {

    private CudaReduce() {}

    static Tensor reduce(CudaBackend be, ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        throw new UnsupportedOperationException("CudaReduce.reduce has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor variance(CudaBackend be, Tensor x, int[] dims, int correction, boolean keepDim) {
        throw new UnsupportedOperationException("CudaReduce.variance has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor argmax(CudaBackend be, Tensor x, int dim, boolean keepDim) {
        throw new UnsupportedOperationException("CudaReduce.argmax has no CUDA kernel yet (issue 5); use --device cpu");
    }
}
