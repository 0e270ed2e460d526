package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.ConvGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * 2-D convolution (NCHW input, OIHW weight) as implicit GEMMs, in {@link CudaMatmul#precision()}:
 *
 * <pre>
 * forward          y [O, (b, p)]         = W [O, CK]   · patches [CK, (b, p)]       p = output pixels
 * input gradient   dx [C, (b, pixel)]    = Wᵀ [C, OK]  · dy gathered [OK, (b, pixel)]
 * weight gradient  dW [O, CK]            = dy [O, (b, p)] · patchesᵀ [(b, p), CK]
 * </pre>
 *
 * with CK = C·kh·kw and OK = O·kh·kw. The patches are gathered by the GEMM as it loads its tiles,
 * never built in memory. Each of the three splits k across blocks when its output tiles alone
 * would leave multiprocessors idle (the weight gradient's few outputs over every pixel; many
 * channels on a small image), then adds the splits up. Kernels: kernels/conv.cu. CPU: CpuConv.
 * Large 3x3 stride-1 convolutions in FLOAT32 (forward and input gradient) go to
 * {@link CudaWinograd} instead, as the CPU's go to its Winograd.
 */
final class CudaConv {

    private CudaConv() {}

    /** The geometry as the kernels' ConvGeom struct (kernels/common.cuh). */
    static int[] struct(ConvGeometry g) {
        return new int[] {g.batch(), g.c(), g.h(), g.w(), g.o(), g.kh(), g.kw(), g.sh(), g.sw(), g.ph(), g.pw(), g.oh(), g.ow()};
    }

    static Tensor forward(CudaBackend be, Tensor x, Tensor weight, Tensor bias, int sh, int sw, int ph, int pw) {
        ConvGeometry g = ConvGeometry.of(x.shapeRef(), weight.shapeRef(), sh, sw, ph, pw);
        if (bias != null) g.checkBias(bias.shapeRef());
        x = floats(x, "input");
        weight = floats(weight, "weight");
        bias = bias == null ? null : floats(bias, "bias");
        Tensor y = be.empty(DType.FLOAT32, g.batch(), g.o(), g.oh(), g.ow());
        if (y.numel() == 0) return y;
        if (CudaWinograd.applies(g)) {
            CudaWinograd.convolve(be, g, x, weight, false, bias, y);
            return y;
        }
        int k = g.c() * g.kh() * g.kw(), tiles = tiles(g.o(), y.numel() / g.o());
        CudaMatmul.Split s = CudaMatmul.Split.of(be, tiles, k, y);
        be.device.launch("conv", "conv_forward_" + CudaMatmul.precision().suffix, tiles, 1, s.splits(), CudaMatmul.GEMM_THREADS, 0,
                ptr(s.target()), ptr(x), ptr(weight), ptrOrNull(s.splits() == 1 ? bias : null), struct(g), s.kSplit(), (long) y.numel());
        s.finish(be, y, bias, g.o(), g.oh() * g.ow());
        return y;
    }

    static Tensor backwardInput(CudaBackend be, Tensor dy, Tensor weight, int[] inputShape, int sh, int sw, int ph, int pw) {
        ConvGeometry g = ConvGeometry.of(inputShape, weight.shapeRef(), sh, sw, ph, pw);
        g.checkOutputGradient(dy.shapeRef());
        dy = floats(dy, "output gradient");
        weight = floats(weight, "weight");
        Tensor dx = be.empty(DType.FLOAT32, inputShape);
        if (dx.numel() == 0) return dx;
        ConvGeometry t = g.winogradInputGradient();
        if (t != null && CudaWinograd.applies(t)) {
            CudaWinograd.convolve(be, t, dy, weight, true, null, dx);
            return dx;
        }
        int k = g.o() * g.kh() * g.kw(), tiles = tiles(g.c(), dx.numel() / g.c());
        CudaMatmul.Split s = CudaMatmul.Split.of(be, tiles, k, dx);
        be.device.launch("conv", "conv_backward_input_" + CudaMatmul.precision().suffix, tiles, 1, s.splits(), CudaMatmul.GEMM_THREADS, 0,
                ptr(s.target()), ptr(dy), ptr(weight), struct(g), s.kSplit(), (long) dx.numel());
        s.finish(be, dx, null, 1, 1);
        return dx;
    }

    static Tensor backwardWeight(CudaBackend be, Tensor dy, Tensor x, int[] weightShape, int sh, int sw, int ph, int pw) {
        ConvGeometry g = ConvGeometry.of(x.shapeRef(), weightShape, sh, sw, ph, pw);
        g.checkOutputGradient(dy.shapeRef());
        dy = floats(dy, "output gradient");
        x = floats(x, "input");
        Tensor dw = be.empty(DType.FLOAT32, weightShape);
        if (dw.numel() == 0) return dw;
        // Few outputs over a long k (every pixel of the batch): split k across blocks, then add up.
        int ck = dw.numel() / g.o(), k = g.batch() * g.oh() * g.ow(), tiles = tiles(g.o(), ck);
        CudaMatmul.Split s = CudaMatmul.Split.of(be, tiles, k, dw);
        be.device.launch("conv", "conv_backward_weight_" + CudaMatmul.precision().suffix, tiles, 1, s.splits(), CudaMatmul.GEMM_THREADS, 0,
                ptr(s.target()), ptr(dy), ptr(x), struct(g), s.kSplit(), (long) dw.numel());
        s.finish(be, dw, null, 1, 1);
        return dw;
    }

    /** Output tiles of an m x n product. */
    private static int tiles(int m, int n) {
        return ceilDiv(m, CudaMatmul.TILE) * ceilDiv(n, CudaMatmul.TILE);
    }

    private static Tensor floats(Tensor t, String what) {
        if (t.dtype() != DType.FLOAT32) throw new IllegalArgumentException("conv2d " + what + " must be float32, got " + t.dtype());
        return contiguous(t);
    }
}
