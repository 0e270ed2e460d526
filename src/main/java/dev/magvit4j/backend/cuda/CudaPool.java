package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/** Max pooling (VGG's 2x2 stride-2 windows, for LPIPS), forward with argmax, and its backward. Kernels: kernels/pool.cu. CPU: CpuPool. */
final class CudaPool {

    private CudaPool() {}

    static Tensor[] maxPool2d(CudaBackend be, Tensor x, int k, int stride) {
        int[] s = x.shapeRef();
        if (s.length != 4 || k < 1 || stride < 1 || s[2] < k || s[3] < k) {
            throw new IllegalArgumentException("max pool of " + Shape.str(s) + " with kernel " + k + " and stride " + stride + ": needs [B, C, H, W] with H, W >= kernel");
        }
        if (x.dtype() != DType.FLOAT32) throw new IllegalArgumentException("max pool needs float32, got " + x.dtype());
        x = contiguous(x);
        int planes = s[0] * s[1], h = s[2], w = s[3], oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
        Tensor out = be.empty(DType.FLOAT32, s[0], s[1], oh, ow);
        Tensor arg = be.empty(DType.INT32, s[0], s[1], oh, ow);
        int n = out.numel();
        if (n > 0) {
            be.device.launch("pool", "max_pool2d", blocks(be, n, THREADS), 1, 1, THREADS, 0, ptr(out), ptr(arg), ptr(x), planes, h, w, oh, ow, k, stride);
        }
        return new Tensor[] {out, arg};
    }

    static Tensor maxPool2dBackward(CudaBackend be, Tensor dy, Tensor argmax, int[] xShape) {
        int[] ds = dy.shapeRef();
        if (xShape.length != 4 || ds.length != 4 || ds[0] != xShape[0] || ds[1] != xShape[1] || !Shape.sameShape(ds, argmax.shapeRef())) {
            throw new IllegalArgumentException("max pool backward: gradient " + Shape.str(ds) + " and argmax " + Shape.str(argmax.shapeRef())
                    + " must both be [B, C, OH, OW] for input " + Shape.str(xShape));
        }
        if (dy.dtype() != DType.FLOAT32) throw new IllegalArgumentException("max pool backward needs a float32 gradient, got " + dy.dtype());
        dy = contiguous(dy);
        argmax = argmax.dtype() == DType.INT32 ? contiguous(argmax) : asInt32(be, argmax);
        Tensor dx = be.empty(DType.FLOAT32, xShape);
        be.fill(dx, 0);
        int n = dy.numel();
        if (n > 0) {
            be.device.launch("pool", "max_pool2d_backward", blocks(be, n, THREADS), 1, 1, THREADS, 0,
                    ptr(dx), ptr(dy), ptr(argmax), xShape[0] * xShape[1], xShape[2] * xShape[3], ds[2] * ds[3]);
        }
        return dx;
    }

    /** An int32 copy of integer indices (int64 ones, say). */
    private static Tensor asInt32(CudaBackend be, Tensor t) {
        Tensor out = be.empty(DType.INT32, t.shapeRef());
        CudaCopy.copy(be, t, out);
        return out;
    }
}
