package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.ConvGeometry;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.Devices;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU's Winograd F(4x4, 3x3) convolutions ({@link CudaWinograd}, kernels/winograd.cu) against
 * the CPU backend: forward with and without bias and the input gradient, on maps that are not
 * multiples of the tile, every padding it takes (0, 1, 2, and different per axis), batches, and
 * tiles in several chunks; and when it is chosen. Fresh device memory is poisoned with NaN in
 * the build, so an output pixel no tile writes shows up.
 */
class CudaWinogradTest {

    private static final double TOL = 1e-4;
    private final Generator gen = new Generator(77);
    private final Backend cpu = Backends.cpu();

    private Tensor randn(int... shape) {
        return Tensor.randn(gen, shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void matchesTheCpu(Device device) {
        Devices.use(device);
        CudaBackend gpu = (CudaBackend) Backends.of(device);
        // {B, C, H, W, O, pad h, pad w}
        // Rows a multiple of 4 wide are stored as float4 (the last two, one cut at the bottom).
        int[][] configs = {{1, 3, 4, 4, 2, 1, 1}, {2, 5, 9, 7, 6, 1, 1}, {1, 8, 13, 10, 4, 0, 0}, {2, 4, 6, 11, 3, 2, 2},
                {1, 4, 9, 9, 5, 0, 2}, {1, 16, 16, 16, 16, 1, 1}, {2, 4, 10, 8, 3, 1, 1}};
        CudaWinograd.setMode(CudaWinograd.Mode.ALWAYS);
        try {
            for (int[] c : configs) {
                int ph = c[5], pw = c[6], oh = c[2] + 2 * ph - 2, ow = c[3] + 2 * pw - 2;
                Tensor x = randn(c[0], c[1], c[2], c[3]), w = randn(c[4], c[1], 3, 3).mul(0.2f), bias = randn(c[4]), dy = randn(c[0], c[4], oh, ow);
                String what = "winograd " + Arrays.toString(c);
                List<KernelProfile.Entry> kernels = gpu.device.profile(() -> {
                    compare(what, cpu.conv2d(x, w, bias, 1, 1, ph, pw), gpu.conv2d(x.to(device), w.to(device), bias.to(device), 1, 1, ph, pw));
                    compare(what + " no bias", cpu.conv2d(x, w, null, 1, 1, ph, pw), gpu.conv2d(x.to(device), w.to(device), null, 1, 1, ph, pw));
                    compare(what + " backward input", cpu.conv2dBackwardInput(dy, w, x.shape(), 1, 1, ph, pw),
                            gpu.conv2dBackwardInput(dy.to(device), w.to(device), x.shape(), 1, 1, ph, pw));
                });
                assertEquals(3, launches(kernels, "winograd/winograd_outputs"), what + ": " + kernels);
                assertEquals(0, launches(kernels, "conv/conv_forward_f32") + launches(kernels, "conv/conv_backward_input_f32"), what + ": " + kernels);
            }
        } finally {
            CudaWinograd.setMode(CudaWinograd.Mode.AUTO);
        }
    }

    /** V holds C and M holds O rows of each chunk: the larger of the two sets the chunk; balanced chunks; at least one tile each. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void tilesGoInChunks(Device device) {
        Devices.use(device);
        CudaBackend gpu = (CudaBackend) Backends.of(device);
        int b = 2, h = 10;  // 2 x 3 x 3 = 18 tiles
        for (int[] co : new int[][] {{6, 5}, {3, 8}}) {
            int c = co[0], o = co[1];
            Tensor x = randn(b, c, h, h), w = randn(o, c, 3, 3).mul(0.2f), bias = randn(o);
            ConvGeometry g = ConvGeometry.of(x.shapeRef(), w.shapeRef(), 1, 1, 1, 1);
            Tensor want = cpu.conv2d(x, w, bias, 1, 1, 1, 1);
            // {floats of V or M at most, expected chunks}: 7 tiles at most -> 3 chunks of 6; one tile each.
            for (long[] limit : new long[][] {{36L * Math.max(c, o) * 7, 3}, {1, 18}}) {
                Tensor y = gpu.empty(dev.magvit4j.tensor.DType.FLOAT32, b, o, h, h);
                List<KernelProfile.Entry> kernels = gpu.device.profile(() ->
                        CudaWinograd.convolve(gpu, g, x.to(device), w.to(device), false, bias.to(device), y, limit[0]));
                String what = "winograd, C " + c + ", O " + o + ", at most " + limit[0] + " floats";
                assertEquals(limit[1], launches(kernels, "winograd/winograd_inputs"), what + ": " + kernels);
                compare(what, want, y);
            }
        }
    }

    @Test
    void chosenForLarge3x3StrideOneConvolutionsInFloat32() {
        ConvGeometry big = ConvGeometry.of(new int[] {2, 128, 64, 64}, new int[] {128, 128, 3, 3}, 1, 1, 1, 1);  // 512 tiles
        assertTrue(CudaWinograd.applies(big));
        assertTrue(CudaWinograd.applies(big.winogradInputGradient()));
        assertFalse(CudaWinograd.applies(ConvGeometry.of(new int[] {1, 128, 64, 64}, new int[] {128, 128, 3, 3}, 1, 1, 1, 1)), "256 tiles");
        assertFalse(CudaWinograd.applies(ConvGeometry.of(new int[] {2, 32, 64, 64}, new int[] {32, 32, 3, 3}, 1, 1, 1, 1)), "32 channels");
        assertFalse(CudaWinograd.applies(ConvGeometry.of(new int[] {2, 128, 64, 64}, new int[] {128, 128, 3, 3}, 2, 2, 1, 1)), "stride 2");
        assertFalse(CudaWinograd.applies(ConvGeometry.of(new int[] {2, 128, 64, 64}, new int[] {128, 128, 1, 1}, 1, 1, 0, 0)), "1x1");
        assertFalse(CudaWinograd.applies(ConvGeometry.of(new int[] {2, 128, 64, 64}, new int[] {128, 128, 3, 3}, 1, 1, 3, 3)), "padding 3");
        assertNull(ConvGeometry.of(new int[] {2, 128, 64, 64}, new int[] {128, 128, 3, 3}, 2, 2, 1, 1).winogradInputGradient());
        ConvGeometry small = ConvGeometry.of(new int[] {1, 3, 5, 5}, new int[] {2, 3, 3, 3}, 1, 1, 1, 1);
        try {
            CudaWinograd.setMode(CudaWinograd.Mode.ALWAYS);
            assertTrue(CudaWinograd.applies(small));
            CudaMatmul.setPrecision(CudaMatmul.Precision.TF32);
            assertFalse(CudaWinograd.applies(small), "the tensor-core precisions keep the direct GEMM");
            CudaMatmul.setPrecision(CudaMatmul.Precision.FLOAT32);
            CudaWinograd.setMode(CudaWinograd.Mode.OFF);
            assertFalse(CudaWinograd.applies(big));
        } finally {
            CudaWinograd.setMode(CudaWinograd.Mode.AUTO);
            CudaMatmul.setPrecision(CudaMatmul.Precision.FLOAT32);
        }
    }

    private static int launches(List<KernelProfile.Entry> kernels, String name) {
        return kernels.stream().filter(e -> e.kernel().equals(name)).mapToInt(KernelProfile.Entry::launches).sum();
    }

    private static void compare(String what, Tensor want, Tensor got) {
        GradCheck.assertClose(what, want, got.to(Device.CPU), TOL);
    }
}
