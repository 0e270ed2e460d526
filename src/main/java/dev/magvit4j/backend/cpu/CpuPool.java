package dev.magvit4j.backend.cpu;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** Max pooling (VGG's 2x2 stride-2 windows, for LPIPS), forward with argmax, and its backward. */
final class CpuPool {

    private CpuPool() {}

    static Tensor[] maxPool2d(Tensor x, int k, int stride) {
        int[] s = x.shapeRef();
        if (s.length != 4 || k < 1 || stride < 1 || s[2] < k || s[3] < k) {
            throw new IllegalArgumentException("max pool of " + Shape.str(s) + " with kernel " + k + " and stride " + stride + ": needs [B, C, H, W] with H, W >= kernel");
        }
        x = CpuElementwise.dense(x);
        int planes = s[0] * s[1], h = s[2], w = s[3], oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
        float[] xv = CpuElementwise.floats(x);
        int xo = x.offset();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, new int[] {s[0], s[1], oh, ow});
        Tensor arg = CpuBackend.allocate(DType.INT32, new int[] {s[0], s[1], oh, ow});
        float[] ov = CpuElementwise.floats(out);
        int[] av = ((CpuStorage) arg.storage()).ints();
        Parallel.forRange(planes, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = xo + p * h * w, o = p * oh * ow;
                for (int y = 0; y < oh; y++) {
                    for (int xx = 0; xx < ow; xx++) {
                        int best = (y * stride) * w + xx * stride;
                        float bv = xv[in + best];
                        for (int i = 0; i < k; i++) {
                            for (int j = 0; j < k; j++) {
                                int at = (y * stride + i) * w + xx * stride + j;
                                float v = xv[in + at];
                                if (v > bv || Float.isNaN(v)) { // NaN wins, as in PyTorch
                                    bv = v;
                                    best = at;
                                }
                            }
                        }
                        ov[o + y * ow + xx] = bv;
                        av[o + y * ow + xx] = best;
                    }
                }
            }
        });
        return new Tensor[] {out, arg};
    }

    static Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape) {
        dy = CpuElementwise.dense(dy);
        float[] gv = CpuElementwise.floats(dy);
        int go = dy.offset();
        int[] av = ((CpuStorage) argmax.storage()).ints();
        int ao = argmax.offset();
        int planes = xShape[0] * xShape[1], plane = xShape[2] * xShape[3], outPlane = dy.size(2) * dy.size(3);
        Tensor dx = CpuBackend.allocate(DType.FLOAT32, xShape);
        float[] dv = CpuElementwise.floats(dx);
        Parallel.forRange(planes, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                for (int i = 0; i < outPlane; i++) dv[p * plane + av[ao + p * outPlane + i]] += gv[go + p * outPlane + i];
            }
        });
        return dx;
    }
}
