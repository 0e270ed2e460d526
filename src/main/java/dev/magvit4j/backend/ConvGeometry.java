package dev.magvit4j.backend;

import dev.magvit4j.tensor.Shape;

/**
 * The shapes of one 2-D convolution, checked once for every backend: input [batch, c, h, w],
 * weight [o, c, kh, kw], stride (sh, sw), zero padding (ph, pw), output [batch, o, oh, ow].
 * The CUDA kernels take it as their ConvGeom struct (kernels/common.cuh), fields in this order.
 */
public record ConvGeometry(int batch, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow) {

    /** The geometry of conv2d(x, weight) with the given stride and padding, or a one-line error naming what does not fit. */
    public static ConvGeometry of(int[] xShape, int[] wShape, int sh, int sw, int ph, int pw) {
        if (xShape.length != 4 || wShape.length != 4) {
            throw new IllegalArgumentException("conv2d needs input [B, C, H, W] and weight [O, C, kh, kw], got " + Shape.str(xShape) + " and " + Shape.str(wShape));
        }
        if (xShape[1] != wShape[1]) {
            throw new IllegalArgumentException("conv2d input has " + xShape[1] + " channels but weight " + Shape.str(wShape) + " expects " + wShape[1]);
        }
        if (sh < 1 || sw < 1 || ph < 0 || pw < 0) {
            throw new IllegalArgumentException("conv2d stride must be >= 1 and padding >= 0, got stride " + sh + "x" + sw + " padding " + ph + "x" + pw);
        }
        if (xShape[2] + 2 * ph < wShape[2] || xShape[3] + 2 * pw < wShape[3]) {
            throw new IllegalArgumentException("conv2d kernel " + wShape[2] + "x" + wShape[3] + " larger than padded input " + (xShape[2] + 2 * ph) + "x" + (xShape[3] + 2 * pw));
        }
        int oh = (xShape[2] + 2 * ph - wShape[2]) / sh + 1, ow = (xShape[3] + 2 * pw - wShape[3]) / sw + 1;
        return new ConvGeometry(xShape[0], xShape[1], xShape[2], xShape[3], wShape[0], wShape[2], wShape[3], sh, sw, ph, pw, oh, ow);
    }

    /** Checks a bias's shape: [o]. */
    public void checkBias(int[] biasShape) {
        if (biasShape.length != 1 || biasShape[0] != o) {
            throw new IllegalArgumentException("conv2d bias of shape " + Shape.str(biasShape) + " for " + o + " output channels");
        }
    }

    /** Checks an output gradient's shape: [batch, o, oh, ow]. */
    public void checkOutputGradient(int[] dyShape) {
        int[] expected = {batch, o, oh, ow};
        if (!Shape.sameShape(dyShape, expected)) {
            throw new IllegalArgumentException("conv2d output gradient of shape " + Shape.str(dyShape) + ", expected " + Shape.str(expected));
        }
    }

    /** Length of the GEMM's k in the forward pass: c·kh·kw. */
    public int ck() {
        return c * kh * kw;
    }

    /** Output pixels per image. */
    public int pixels() {
        return oh * ow;
    }

    /** A 1x1 convolution with stride 1 and no padding: a plain matrix product per image. */
    public boolean pointwise() {
        return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
    }

    /** 3x3, stride 1: the convolutions that Winograd F(4x4, 3x3) computes (padding at most 2). */
    public boolean winogradShaped() {
        return kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph <= 2 && pw <= 2;
    }

    /** Winograd F(4x4, 3x3)'s 4x4 output tiles over the batch (the last row and column of tiles may be cut). */
    public int winogradTiles() {
        return batch * ((oh + 3) / 4) * ((ow + 3) / 4);
    }

    /**
     * The input gradient of a {@link #winogradShaped} convolution as a convolution of its own: dy
     * with the kernel transposed in channels and rotated by 180 degrees, padded by 2 - pad, whose
     * output is the input's size. Null for other convolutions.
     */
    public ConvGeometry winogradInputGradient() {
        return winogradShaped() ? new ConvGeometry(batch, o, oh, ow, c, 3, 3, 1, 1, 2 - ph, 2 - pw, h, w) : null;
    }
}
