package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.ConvGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import java.util.Locale;
import java.util.Objects;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * 3x3 stride-1 convolutions (forward, and the input gradient, which is one too) by Winograd's
 * F(4x4, 3x3) in FLOAT32: a filter transform, an input transform, 36 matrix products in one
 * batched {@link CudaMatmul#matmul} and an output transform (kernels/winograd.cu, which shows the
 * formulas). The products do a quarter of the direct method's multiplies. CPU twin:
 * backend/cpu/Winograd.java; the rounding is of the same order (about 1e-6 of the output's scale
 * instead of 1e-7), which is why the tensor-core precisions, already rounding their inputs, keep
 * the direct implicit GEMM of {@link CudaConv}.
 *
 * <p>When it pays (mode AUTO) is a model, to be confirmed by the GPU benchmarks
 * ({@code conv3x3_*} workloads, direct and Winograd side by side): per tile and channel pair the
 * direct GEMM does 2·144 flops, Winograd 2·36 plus its transforms' traffic, 36 floats of V and of
 * M written once and read once per channel: 4·36·2·(C + O) bytes per tile. With a GEMM rate of
 * about 16 flops per byte of DRAM bandwidth (H100, float32 on the CUDA cores), Winograd takes
 * 0.25 + 16·(C + O)/(C·O) of the direct time: 0.75 at 64 channels in and out, 0.5 at 128,
 * 0.31 at 512. It is used from C·O/(C + O) >= 32 (64 channels each) and enough tiles to fill the
 * GPU with the 36 products.
 */
public final class CudaWinograd {

    private CudaWinograd() {}

    /** AUTO: where the model above says it pays; OFF: never; ALWAYS: every 3x3 stride-1 convolution in FLOAT32. */
    public enum Mode { AUTO, OFF, ALWAYS }

    private static volatile Mode mode = fromProperty(System.getProperty("magvit4j.cuda.winograd", "auto"));

    /** Sets when convolutions take this path; also {@code -Dmagvit4j.cuda.winograd=auto|false|always}. */
    public static void setMode(Mode m) {
        mode = Objects.requireNonNull(m);
    }

    public static Mode mode() {
        return mode;
    }

    private static Mode fromProperty(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "auto" -> Mode.AUTO;
            case "false", "off" -> Mode.OFF;
            case "always", "true" -> Mode.ALWAYS;
            default -> throw new IllegalArgumentException("-Dmagvit4j.cuda.winograd=" + v + ": expected auto, false or always");
        };
    }

    /** Transformed tile positions (6 x 6). */
    private static final int POSITIONS = 36;
    /** AUTO's thresholds (see the class comment): C·O/(C + O), and output tiles over the batch. */
    private static final int MIN_CHANNELS = 32, MIN_TILES = 512;
    /** Floats of V or M: tiles go in chunks so the temporaries stay within 128 MiB each. */
    private static final long MAX_TEMPORARY = 1L << 25;

    /** Whether convolution g runs here: 3x3, stride 1, padding at most 2, FLOAT32, and the mode. */
    static boolean applies(ConvGeometry g) {
        Mode m = mode;
        if (m == Mode.OFF || CudaMatmul.precision() != CudaMatmul.Precision.FLOAT32) return false;
        if (!g.winogradShaped()) return false;
        return m == Mode.ALWAYS || g.winogradTiles() >= MIN_TILES && (double) g.c() * g.o() / (g.c() + g.o()) >= MIN_CHANNELS;
    }

    /**
     * y = conv(x, w) + bias for convolution g (bias may be null). w is [g.o, g.c, 3, 3], or with
     * {@code flipped} the original convolution's [g.c, g.o, 3, 3], read transposed and rotated
     * (the input gradient: g from {@link ConvGeometry#winogradInputGradient}). x, w, y contiguous float32.
     */
    static void convolve(CudaBackend be, ConvGeometry g, Tensor x, Tensor w, boolean flipped, Tensor bias, Tensor y) {
        convolve(be, g, x, w, flipped, bias, y, MAX_TEMPORARY);
    }

    /**
     * {@link #convolve} with V and M of at most maxTemporary floats each: the tiles go in balanced
     * chunks (whole GEMM tiles where that fits), through one V and one M buffer for all of them.
     */
    static void convolve(CudaBackend be, ConvGeometry g, Tensor x, Tensor w, boolean flipped, Tensor bias, Tensor y, long maxTemporary) {
        int filters = g.o() * g.c();
        Tensor u = be.empty(DType.FLOAT32, POSITIONS, g.o(), g.c());
        be.device.launch("winograd", "winograd_filters", blocks(be, filters, THREADS), 1, 1, THREADS, 0, ptr(u), ptr(w), g.o(), g.c(), flipped ? 1 : 0);
        int tiles = g.winogradTiles();
        int most = (int) Math.max(1, Math.min(tiles, maxTemporary / (POSITIONS * (long) Math.max(g.c(), g.o()))));
        int chunks = ceilDiv(tiles, most), chunk = ceilDiv(tiles, chunks);
        if (chunks > 1 && chunk > CudaMatmul.TILE) chunk = Math.min(most, ceilDiv(chunk, CudaMatmul.TILE) * CudaMatmul.TILE);
        Tensor vBuffer = be.empty(DType.FLOAT32, POSITIONS * g.c() * chunk), mBuffer = be.empty(DType.FLOAT32, POSITIONS * g.o() * chunk);
        for (int t0 = 0; t0 < tiles; t0 += chunk) {
            int nt = Math.min(chunk, tiles - t0);
            Tensor v = vBuffer.slice(0, 0, POSITIONS * g.c() * nt).view(POSITIONS, g.c(), nt);
            Tensor m = mBuffer.slice(0, 0, POSITIONS * g.o() * nt).view(POSITIONS, g.o(), nt);
            be.device.launch("winograd", "winograd_inputs", blocks(be, (long) g.c() * nt, THREADS), 1, 1, THREADS, 0, ptr(v), ptr(x), CudaConv.struct(g), t0, nt);
            CudaMatmul.matmul(be, u, v, null, m);
            be.device.launch("winograd", "winograd_outputs", blocks(be, (long) g.o() * nt, THREADS), 1, 1, THREADS, 0,
                    ptr(y), ptr(m), ptrOrNull(bias), CudaConv.struct(g), t0, nt);
        }
        release(u, vBuffer, mBuffer);
    }
}
