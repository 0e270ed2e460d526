package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/** DCR depth-to-space (SPEC.md section 1) and space-to-depth. Kernel: kernels/depth_to_space.cu. CPU: CpuDepthToSpace. */
final class CudaDepthToSpace {

    private CudaDepthToSpace() {}

    static Tensor apply(CudaBackend be, Tensor x, int r, boolean inverse) {
        int[] s = x.shapeRef();
        int[] outShape = Backend.depthToSpaceShape(s, r, inverse);
        // Geometry in deep terms: C output channels of h x w pixels; one thread per deep pixel of one output channel.
        int[] deep = inverse ? outShape : s;
        int c = deep[1] / (r * r), h = deep[2], w = deep[3], pixels = deep[0] * c * h * w;
        Tensor out = be.empty(DType.FLOAT32, outShape);
        if (pixels > 0) {
            be.device.launch("depth_to_space", "depth_to_space", blocks(be, pixels, THREADS), 1, 1, THREADS, 0,
                    ptr(out), ptr(contiguousFloat(x)), pixels, c, h, w, r, inverse ? 1 : 0);
        }
        return out;
    }
}
