package dev.magvit4j.ops;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.testing.Ref;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class ConvolutionTest {

    /**
     * conv2d of x [b, c, h, w] by weight [o, c, kh, kw], forward and the gradients of input and
     * weight against Ref.conv2d; when withBias, then again with a bias [o] (and its gradient).
     */
    private static void check(int b, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, boolean withBias) {
        checkOne(b, c, h, w, o, kh, kw, sh, sw, ph, pw, false);
        if (withBias) checkOne(b, c, h, w, o, kh, kw, sh, sw, ph, pw, true);
    }

    private static void checkOne(int b, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, boolean withBias) {
        String name = String.format("conv2d x[%d,%d,%d,%d] w[%d,%d,%d,%d] stride %dx%d pad %dx%d%s",
                b, c, h, w, o, c, kh, kw, sh, sw, ph, pw, withBias ? " bias" : "");
        Generator gen = new Generator(name.hashCode());
        Tensor x = GradCheck.param(gen, b, c, h, w), weight = GradCheck.param(gen, o, c, kh, kw);
        int[] xs = {b, c, h, w}, ws = {o, c, kh, kw};
        int[] expected = {b, o, (h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1};
        if (withBias) {
            Tensor bias = GradCheck.param(gen, o);
            GradCheck.check(name, in -> {
                Tensor y = Convolution.conv2d(in[0], in[1], in[2], sh, sw, ph, pw);
                assertArrayEquals(expected, y.shapeRef(), name);
                return y;
            }, in -> Ref.conv2d(in[0], xs, in[1], ws, in[2], sh, sw, ph, pw), x, weight, bias);
        } else {
            GradCheck.check(name, in -> {
                Tensor y = Convolution.conv2d(in[0], in[1], null, sh, sw, ph, pw);
                assertArrayEquals(expected, y.shapeRef(), name);
                return y;
            }, in -> Ref.conv2d(in[0], xs, in[1], ws, null, sh, sw, ph, pw), x, weight);
        }
    }

    @Test
    void threeByThreePadOne() {
        check(2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, true);
        check(1, 17, 6, 5, 3, 3, 3, 1, 1, 1, 1, true);
        check(2, 5, 8, 8, 17, 3, 3, 1, 1, 1, 1, false);
    }

    @Test
    void threeByThreeStrideTwo() {
        check(2, 3, 9, 9, 5, 3, 3, 2, 2, 1, 1, true);    // odd input
        check(1, 5, 8, 10, 3, 3, 3, 2, 2, 1, 1, true);   // even input
        check(1, 3, 7, 6, 4, 3, 3, 2, 2, 0, 0, false);   // no padding
    }

    @Test
    void pointwise() {
        check(2, 17, 5, 7, 5, 1, 1, 1, 1, 0, 0, true);
        check(2, 5, 3, 11, 17, 1, 1, 1, 1, 0, 0, false);
        check(1, 3, 6, 40, 9, 1, 1, 1, 1, 0, 0, true);   // 240 pixels: several 32-wide panels
    }

    @Test
    void oneByOneNotPointwise() {
        // 1x1 kernels that leave the pointwise fast path: stride 2, or padding.
        check(2, 3, 7, 8, 5, 1, 1, 2, 2, 0, 0, true);
        check(1, 5, 4, 5, 3, 1, 1, 1, 1, 1, 1, true);
    }

    @Test
    void discriminatorKernels() {
        check(2, 3, 8, 8, 5, 4, 4, 2, 2, 1, 1, true);    // 4x4 stride 2 pad 1
        check(1, 5, 9, 7, 3, 4, 4, 2, 2, 1, 1, true);    // odd sizes
        check(1, 5, 6, 7, 1, 4, 4, 1, 1, 1, 1, true);    // 4x4 stride 1 pad 1, one output channel
    }

    @Test
    void nonSquareKernelsAndAsymmetricGeometry() {
        check(2, 3, 7, 9, 4, 3, 5, 2, 1, 0, 2, true);
        check(1, 5, 6, 9, 3, 1, 3, 1, 2, 0, 1, true);
        check(1, 3, 9, 5, 5, 5, 2, 3, 1, 2, 0, false);
        check(2, 4, 5, 12, 3, 2, 3, 1, 3, 1, 2, true);
    }

    @Test
    void panelSpansOutputRows() {
        // Output width 40: a 32-pixel panel crosses from one output row into the next.
        check(2, 3, 4, 40, 5, 3, 3, 1, 1, 1, 1, true);
        // Stride 2 with output width 20 (non-unit-stride packing across rows).
        check(1, 3, 5, 40, 4, 3, 3, 2, 2, 1, 1, true);
        // 960 output pixels: the input gradient goes through col2im in more than one chunk of 512.
        check(1, 2, 24, 40, 3, 3, 3, 1, 1, 1, 1, true);
    }

    @Test
    void channelMismatchRejected() {
        Tensor x = Tensor.zeros(1, 3, 5, 5), w = Tensor.zeros(4, 2, 3, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Convolution.conv2d(x, w, null, 1, 1));
        assertTrue(e.getMessage().contains("3 channels") && e.getMessage().contains("[4, 2, 3, 3]"), e.getMessage());
    }

    @Test
    void kernelLargerThanPaddedInputRejected() {
        Tensor x = Tensor.zeros(1, 1, 2, 3), w = Tensor.zeros(1, 1, 5, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Convolution.conv2d(x, w, null, 1, 1));
        assertTrue(e.getMessage().contains("5x5") && e.getMessage().contains("4x5"), e.getMessage());
        // Exactly fitting after padding is fine: one output pixel.
        assertArrayEquals(new int[] {1, 1, 1, 1}, Convolution.conv2d(Tensor.zeros(1, 1, 3, 3), w, null, 1, 1).shapeRef());
        // Only one side too large.
        assertThrows(IllegalArgumentException.class, () -> Convolution.conv2d(Tensor.zeros(1, 1, 9, 2), Tensor.zeros(1, 1, 3, 3), null, 1, 1, 0, 0));
    }

    /**
     * b, c, h, w, o, padding: each has at least 64 output tiles over the batch, so it takes the
     * Winograd path (WinogradTest checks that it does).
     */
    public static final int[][] WINOGRAD_CASES = {
            {6, 16, 13, 11, 16, 1},  // chunks spanning images; tiles clipped at the right and bottom edges
            {1, 24, 32, 32, 20, 1},  // exact tiles
            {2, 16, 34, 30, 17, 0},  // no padding
            {1, 16, 30, 30, 16, 2},  // padding 2
    };

    /**
     * 3x3 stride-1 convolutions with at least 16 input and output channels take the Winograd
     * F(4x4, 3x3) path (forward, input gradient and weight gradient). Its transforms (coefficients up to 8) raise
     * float32 rounding to ~1e-6 of the output scale for these channel counts, above the 1e-5
     * default only by accumulation over channels; 5e-5 still catches any wrong index or tile edge.
     */
    @Test
    void winogradPath() {
        int[][] cases = WINOGRAD_CASES;
        for (int[] c : cases) {
            int b = c[0], ch = c[1], h = c[2], w = c[3], o = c[4], p = c[5];
            String name = "winograd conv " + java.util.Arrays.toString(c);
            Generator gen = new Generator(name.hashCode());
            Tensor x = GradCheck.param(gen, b, ch, h, w), weight = GradCheck.param(gen, o, ch, 3, 3), bias = GradCheck.param(gen, o);
            int[] xs = {b, ch, h, w}, ws = {o, ch, 3, 3};
            GradCheck.check(name, in -> Convolution.conv2d(in[0], in[1], in[2], 1, p),
                    in -> Ref.conv2d(in[0], xs, in[1], ws, in[2], 1, 1, p, p), 5e-5, 1e-3, x, weight, bias);
        }
    }
}
