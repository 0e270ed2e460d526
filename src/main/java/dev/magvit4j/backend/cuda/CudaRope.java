package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/** Rotary embedding on interleaved pairs; x may be a strided view. Kernel: kernels/rope.cu. CPU: CpuRope. */
final class CudaRope {

    private CudaRope() {}

    static Tensor rope(CudaBackend be, Tensor x, Tensor cos, Tensor sin, boolean inverse) {
        int[] s = x.shapeRef();
        if (s.length < 2 || s[s.length - 1] % 2 != 0) {
            throw new IllegalArgumentException("rope needs x [..., T, D] with even D, got " + Shape.str(s));
        }
        int t = s[s.length - 2], half = s[s.length - 1] / 2;
        int[] tableShape = {t, half};
        if (!java.util.Arrays.equals(cos.shapeRef(), tableShape) || !java.util.Arrays.equals(sin.shapeRef(), tableShape)) {
            throw new IllegalArgumentException("rope tables must be " + Shape.str(tableShape) + " for x " + Shape.str(s) + ", got cos " + Shape.str(cos.shapeRef()) + " and sin " + Shape.str(sin.shapeRef()));
        }
        x = CudaElementwise.floatView(x);
        Tensor out = be.empty(DType.FLOAT32, s);
        int n = out.numel();
        if (n > 0) {
            be.device.launch("rope", "rope", CudaElementwise.packedBlocks(be, n), 1, 1, THREADS, 0,
                    ptr(out), base(x), layout(x), ptr(contiguousFloat(cos)), ptr(contiguousFloat(sin)), n, t, half, inverse ? -1f : 1f);
        }
        return out;
    }
}
