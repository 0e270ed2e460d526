package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/** silu(a)·b and its gradients. Kernels: kernels/pointwise.cu. CPU: CpuSwiglu. */
final class CudaSwiglu {

    private CudaSwiglu() {}

    private static void check(Tensor a, Tensor b) {
        if (!java.util.Arrays.equals(a.shapeRef(), b.shapeRef())) {
            throw new IllegalArgumentException("swiglu halves must have one shape, got " + Shape.str(a.shapeRef()) + " and " + Shape.str(b.shapeRef()));
        }
    }

    static Tensor forward(CudaBackend be, Tensor a, Tensor b) {
        check(a, b);
        int n = a.numel();
        Tensor out = be.empty(DType.FLOAT32, a.shapeRef());
        if (n > 0) {
            be.device.launch("pointwise", "swiglu_forward", blocks(be, n, THREADS), 1, 1, THREADS, 0,
                    ptr(out), ptr(contiguous(a)), ptr(contiguous(b)), n);
        }
        return out;
    }

    static Tensor[] backward(CudaBackend be, Tensor a, Tensor b, Tensor dout) {
        check(a, b);
        int n = a.numel();
        Tensor da = be.empty(DType.FLOAT32, a.shapeRef()), db = be.empty(DType.FLOAT32, a.shapeRef());
        if (n > 0) {
            be.device.launch("pointwise", "swiglu_backward", blocks(be, n, THREADS), 1, 1, THREADS, 0,
                    ptr(da), ptr(db), ptr(contiguous(a)), ptr(contiguous(b)), ptr(contiguous(dout)), n);
        }
        return new Tensor[] {da, db};
    }
}
