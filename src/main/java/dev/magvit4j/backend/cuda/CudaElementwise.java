package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend.*;
import dev.magvit4j.tensor.Tensor;

/** Not written yet (issue 5): every method says so and names --device cpu. */
final class CudaElementwise {

    private CudaElementwise() {}

    static Tensor unary(CudaBackend be, UnaryOp op, float alpha, Tensor x) {
        throw new UnsupportedOperationException("CudaElementwise.unary has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor unaryBackward(CudaBackend be, UnaryOp op, float alpha, Tensor x, Tensor y, Tensor dy) {
        throw new UnsupportedOperationException("CudaElementwise.unaryBackward has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor binary(CudaBackend be, BinaryOp op, Tensor a, Tensor b) {
        throw new UnsupportedOperationException("CudaElementwise.binary has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static Tensor affine(CudaBackend be, Tensor x, float scale, float shift) {
        throw new UnsupportedOperationException("CudaElementwise.affine has no CUDA kernel yet (issue 5); use --device cpu");
    }

    static void axpby(CudaBackend be, float a, Tensor x, float b, Tensor y) {
        throw new UnsupportedOperationException("CudaElementwise.axpby has no CUDA kernel yet (issue 5); use --device cpu");
    }
}
