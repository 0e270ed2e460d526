package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend.*;
import dev.magvit4j.tensor.Tensor;

/** PLACEHOLDER: replaced by the real kernels wrapper. */
final class CudaElementwise {

    private CudaElementwise() {}

    static Tensor unary(CudaBackend be, UnaryOp op, float alpha, Tensor x) {
        throw new UnsupportedOperationException("CudaElementwise.unary is not written yet");
    }

    static Tensor unaryBackward(CudaBackend be, UnaryOp op, float alpha, Tensor x, Tensor y, Tensor dy) {
        throw new UnsupportedOperationException("CudaElementwise.unaryBackward is not written yet");
    }

    static Tensor binary(CudaBackend be, BinaryOp op, Tensor a, Tensor b) {
        throw new UnsupportedOperationException("CudaElementwise.binary is not written yet");
    }

    static Tensor affine(CudaBackend be, Tensor x, float scale, float shift) {
        throw new UnsupportedOperationException("CudaElementwise.affine is not written yet");
    }

    static void axpby(CudaBackend be, float a, Tensor x, float b, Tensor y) {
        throw new UnsupportedOperationException("CudaElementwise.axpby is not written yet");
    }
}
