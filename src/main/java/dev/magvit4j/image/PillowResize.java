package dev.magvit4j.image;

/**
 * Pillow's {@code Image.resize(..., BILINEAR)} (libImaging/Resample.c; checked against Pillow 9.4), restated:
 * a separable triangle filter whose support widens with the scale when down-sampling (that is
 * the antialiasing), horizontal pass first, then vertical.
 *
 * <p>For one axis, output sample {@code i} of {@code out} from {@code in} samples has centre
 * {@code c = (i + 0.5) * in / out} (in input pixel units), support {@code s = max(in / out, 1)},
 * input taps {@code j} from {@code (int) (c - s + 0.5)} (clamped to 0) up to, not including,
 * {@code (int) (c + s + 0.5)} (clamped to in), weights {@code tri((j - c + 0.5) / s)} with
 * {@code tri(t) = max(0, 1 - |t|)}, normalised to sum 1. On 8-bit data the weights are turned
 * into fixed point with 22 fractional bits (rounded half away from zero), each pass sums
 * {@code 2^21 + Σ pixel·weight} in 32-bit integers and keeps {@code sum >> 22} clamped to 0..255,
 * so the horizontal pass's result is rounded to 8 bits before the vertical pass. A pass whose
 * size does not change is skipped (it would be the identity anyway).
 *
 * <p>Only the requested window of the output (the centre crop) is computed; every output pixel
 * depends only on its own taps, so the window is bit-identical to cropping the full resize.
 */
final class PillowResize {

    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final int HALF = 1 << (PRECISION_BITS - 1);

    private PillowResize() {}

    /** Taps of outputs {@code first .. first + count - 1} of an {@code inSize → outSize} axis. */
    record Taps(int ksize, int[] start, int[] length, double[] weights) {

        static Taps of(int inSize, int outSize, int first, int count) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = 1.0 * filterScale;            // bilinear support is 1
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[count];
            int[] length = new int[count];
            double[] weights = new double[count * ksize];
            double ss = 1.0 / filterScale;
            for (int i = 0; i < count; i++) {
                double center = (first + i + 0.5) * scale;
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) xmin = 0;
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) xmax = inSize;
                xmax -= xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++) {
                    double w = triangle((x + xmin - center + 0.5) * ss);
                    weights[i * ksize + x] = w;
                    ww += w;
                }
                if (ww != 0.0) {
                    for (int x = 0; x < xmax; x++) weights[i * ksize + x] /= ww;
                }
                start[i] = xmin;
                length[i] = xmax;
            }
            return new Taps(ksize, start, length, weights);
        }

        /** The weights in Pillow's 8-bit fixed point. */
        int[] fixedPoint() {
            int[] k = new int[weights.length];
            for (int i = 0; i < k.length; i++) {
                double w = weights[i];
                k[i] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
            }
            return k;
        }

        int firstTap() {
            int m = Integer.MAX_VALUE;
            for (int s : start) m = Math.min(m, s);
            return m;
        }

        int endTap() {
            int m = 0;
            for (int i = 0; i < start.length; i++) m = Math.max(m, start[i] + length[i]);
            return m;
        }
    }

    private static double triangle(double x) {
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    private static int clip8(int sum) {
        int v = sum >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /**
     * Resizes {@code src} to {@code outW x outH} exactly as Pillow does on 8-bit data and returns
     * the window {@code [top, top + cropH) x [left, left + cropW)} of the result.
     */
    static Rgb8 resize(Rgb8 src, int outW, int outH, int left, int top, int cropW, int cropH) {
        int c = src.channels(), inW = src.width(), inH = src.height();
        boolean needH = outW != inW, needV = outH != inH;
        Taps th = needH ? Taps.of(inW, outW, left, cropW) : null;
        Taps tv = needV ? Taps.of(inH, outH, top, cropH) : null;
        int y0 = needV ? tv.firstTap() : top;
        int y1 = needV ? tv.endTap() : top + cropH;
        int rows = y1 - y0;
        byte[] in = src.planes();

        // Horizontal pass over the source rows the vertical pass will need.
        byte[] mid = new byte[c * rows * cropW];
        int[] kh = needH ? th.fixedPoint() : null;
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < rows; y++) {
                int srcRow = (ch * inH + y0 + y) * inW;
                int dstRow = (ch * rows + y) * cropW;
                for (int x = 0; x < cropW; x++) {
                    if (!needH) {
                        mid[dstRow + x] = in[srcRow + left + x];
                        continue;
                    }
                    int sum = HALF, base = x * th.ksize(), s = srcRow + th.start()[x];
                    for (int k = 0, n = th.length()[x]; k < n; k++) sum += (in[s + k] & 0xFF) * kh[base + k];
                    mid[dstRow + x] = (byte) clip8(sum);
                }
            }
        }
        if (!needV) return new Rgb8(c, cropW, cropH, mid);

        // Vertical pass.
        byte[] out = new byte[c * cropH * cropW];
        int[] kv = tv.fixedPoint();
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < cropH; y++) {
                int base = y * tv.ksize(), first = tv.start()[y] - y0, n = tv.length()[y];
                int dstRow = (ch * cropH + y) * cropW;
                for (int x = 0; x < cropW; x++) {
                    int sum = HALF;
                    int p = (ch * rows + first) * cropW + x;
                    for (int k = 0; k < n; k++, p += cropW) sum += (mid[p] & 0xFF) * kv[base + k];
                    out[dstRow + x] = (byte) clip8(sum);
                }
            }
        }
        return new Rgb8(c, cropW, cropH, out);
    }

    /**
     * The same filter on float data ([C, inH, inW] planes) in double precision, without the
     * fixed-point weights and the 8-bit rounding between passes; returns the crop window.
     */
    static float[] resize(float[] in, int c, int inW, int inH, int outW, int outH,
                          int left, int top, int cropW, int cropH) {
        boolean needH = outW != inW, needV = outH != inH;
        Taps th = needH ? Taps.of(inW, outW, left, cropW) : null;
        Taps tv = needV ? Taps.of(inH, outH, top, cropH) : null;
        int y0 = needV ? tv.firstTap() : top;
        int rows = (needV ? tv.endTap() : top + cropH) - y0;
        float[] mid = new float[c * rows * cropW];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < rows; y++) {
                int srcRow = (ch * inH + y0 + y) * inW;
                int dstRow = (ch * rows + y) * cropW;
                for (int x = 0; x < cropW; x++) {
                    if (!needH) {
                        mid[dstRow + x] = in[srcRow + left + x];
                        continue;
                    }
                    double sum = 0;
                    int base = x * th.ksize(), s = srcRow + th.start()[x];
                    for (int k = 0, n = th.length()[x]; k < n; k++) sum += in[s + k] * th.weights()[base + k];
                    mid[dstRow + x] = (float) sum;
                }
            }
        }
        if (!needV) return mid;
        float[] out = new float[c * cropH * cropW];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < cropH; y++) {
                int base = y * tv.ksize(), first = tv.start()[y] - y0, n = tv.length()[y];
                for (int x = 0; x < cropW; x++) {
                    double sum = 0;
                    int p = (ch * rows + first) * cropW + x;
                    for (int k = 0; k < n; k++, p += cropW) sum += mid[p] * tv.weights()[base + k];
                    out[(ch * cropH + y) * cropW + x] = (float) sum;
                }
            }
        }
        return out;
    }
}
