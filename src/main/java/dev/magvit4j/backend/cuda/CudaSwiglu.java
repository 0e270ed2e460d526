package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/** silu(a)·b and its gradients, on views of a and b. Kernels: kernels/swiglu.cu. CPU: CpuSwiglu. */
final class CudaSwiglu {

    private CudaSwiglu() {}

    private static final String M = "swiglu";

    private static void check(Tensor a, Tensor b) {
        if (!java.util.Arrays.equals(a.shapeRef(), b.shapeRef())) {
            throw new IllegalArgumentException("swiglu halves must have one shape, got " + Shape.str(a.shapeRef()) + " and " + Shape.str(b.shapeRef()));
        }
    }

    static Tensor forward(CudaBackend be, Tensor a, Tensor b) {
        check(a, b);
        a = CudaElementwise.floatView(a);
        b = CudaElementwise.floatView(b);
        Tensor out = be.empty(DType.FLOAT32, a.shapeRef());
        int n = out.numel();
        if (n > 0) {
            be.device.launch(M, "swiglu_forward", CudaElementwise.packedBlocks(be, n), 1, 1, THREADS, 0,
                    ptr(out), base(a), layout(a), base(b), layout(b), n);
        }
        return out;
    }

    /** Returns {da, db}. */
    static Tensor[] backward(CudaBackend be, Tensor a, Tensor b, Tensor dout) {
        check(a, b);
        check(a, dout);
        a = CudaElementwise.floatView(a);
        b = CudaElementwise.floatView(b);
        dout = CudaElementwise.floatView(dout);
        Tensor da = be.empty(DType.FLOAT32, a.shapeRef()), db = be.empty(DType.FLOAT32, a.shapeRef());
        int n = da.numel();
        if (n > 0) {
            be.device.launch(M, "swiglu_backward", CudaElementwise.packedBlocks(be, n), 1, 1, THREADS, 0,
                    ptr(da), ptr(db), base(a), layout(a), base(b), layout(b), base(dout), layout(dout), n);
        }
        return new Tensor[] {da, db};
    }
}
