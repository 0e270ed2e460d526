package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.ConvGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

/**
 * 2-D convolution (NCHW input, OIHW weight) as matrix products, per image:
 *
 * <pre>
 * forward          y[O, P]  = W[O, CK] · col[CK, P]        col = image patches, P = output pixels
 * input gradient   dcol     = Wᵀ[CK, O] · dy[O, P]          then scattered back (col2im)
 * weight gradient  dW[O, CK] += dy[O, P] · colᵀ[P, CK]
 * </pre>
 *
 * with CK = C·kh·kw. The patch matrix is never built whole: the GEMM packs its panels straight
 * from the image (implicit im2col), and the input gradient goes through col2im in chunks of
 * pixels, so memory stays at the size of the tensors themselves. 3x3 stride-1 convolutions with
 * enough channels and tiles take Winograd F(4x4, 3x3) for all three ({@link Winograd}).
 */
final class CpuConv {

    private CpuConv() {}

    /** Output pixels per col2im chunk of the input gradient. */
    private static final int CHUNK = 512;

    static Tensor forward(Tensor x, Tensor weight, Tensor bias, int sh, int sw, int ph, int pw) {
        ConvGeometry g = ConvGeometry.of(x.shapeRef(), weight.shapeRef(), sh, sw, ph, pw);
        if (bias != null) g.checkBias(bias.shapeRef());
        x = CpuElementwise.dense(x);
        weight = CpuElementwise.dense(weight);
        Tensor out = CpuBackend.allocate(DType.FLOAT32, new int[] {g.batch(), g.o(), g.oh(), g.ow()});
        float[] xv = CpuElementwise.floats(x), wv = CpuElementwise.floats(weight), ov = CpuElementwise.floats(out);
        float[] bv = bias == null ? null : CpuElementwise.floats(bias = CpuElementwise.dense(bias));
        int bOff = bias == null ? 0 : bias.offset();
        if (Winograd.applies(g)) {
            Winograd.forward(g, xv, x.offset(), wv, weight.offset(), bv, bOff, ov);
            return out;
        }
        int imageSize = g.c() * g.h() * g.w(), outSize = g.o() * g.pixels();
        for (int b = 0; b < g.batch(); b++) {
            int xo = x.offset() + b * imageSize;
            Sgemm.BPacker patches = g.pointwise() ? Sgemm.matrix(xv, xo, g.pixels(), 1) : patches(g, xv, xo);
            Sgemm.gemm(g.o(), g.pixels(), g.ck(), wv, weight.offset(), g.ck(), 1, patches, ov, b * outSize, g.pixels(), false, Sgemm.Bias.rows(bv, bOff));
        }
        return out;
    }

    static Tensor backwardInput(Tensor dy, Tensor weight, int[] inputShape, int sh, int sw, int ph, int pw) {
        ConvGeometry g = ConvGeometry.of(inputShape, weight.shapeRef(), sh, sw, ph, pw);
        g.checkOutputGradient(dy.shapeRef());
        dy = CpuElementwise.dense(dy);
        weight = CpuElementwise.dense(weight);
        Tensor dx = CpuBackend.allocate(DType.FLOAT32, inputShape);
        float[] dyv = CpuElementwise.floats(dy), wv = CpuElementwise.floats(weight), dxv = CpuElementwise.floats(dx);
        int imageSize = g.c() * g.h() * g.w(), outSize = g.o() * g.pixels(), ck = g.ck();
        // A 3x3 stride-1 convolution's input gradient is the convolution of dy with the kernel
        // flipped in space and transposed in channels, padded by 2 - pad: Winograd again.
        ConvGeometry t = g.winogradInputGradient();
        if (t != null && Winograd.applies(t)) {
            float[] flipped = Workspace.floats(Workspace.Slot.WINOGRAD_FLIPPED, g.c() * g.o() * 9);
            for (int o = 0; o < g.o(); o++)
                for (int c = 0; c < g.c(); c++)
                    for (int r = 0; r < 9; r++) flipped[(c * g.o() + o) * 9 + 8 - r] = wv[weight.offset() + (o * g.c() + c) * 9 + r];
            Winograd.forward(t, dyv, dy.offset(), flipped, 0, null, 0, dxv);
            return dx;
        }
        if (g.pointwise()) {
            // dx[C, P] = Wᵀ[C, O] · dy[O, P], straight into dx.
            for (int b = 0; b < g.batch(); b++) {
                Sgemm.gemm(g.c(), g.pixels(), g.o(), wv, weight.offset(), 1, ck, Sgemm.matrix(dyv, dy.offset() + b * outSize, g.pixels(), 1),
                        dxv, b * imageSize, g.pixels(), false, null);
            }
            return dx;
        }
        float[] dcol = Workspace.floats(Workspace.Slot.COL2IM, ck * Math.min(CHUNK, g.pixels()));
        for (int b = 0; b < g.batch(); b++) {
            for (int p0 = 0; p0 < g.pixels(); p0 += CHUNK) {
                int np = Math.min(CHUNK, g.pixels() - p0);
                Sgemm.gemm(ck, np, g.o(), wv, weight.offset(), 1, ck, Sgemm.matrix(dyv, dy.offset() + b * outSize + p0, g.pixels(), 1),
                        dcol, 0, np, false, null);
                col2im(g, dcol, np, p0, dxv, b * imageSize);
            }
        }
        return dx;
    }

    static Tensor backwardWeight(Tensor dy, Tensor x, int[] weightShape, int sh, int sw, int ph, int pw) {
        ConvGeometry g = ConvGeometry.of(x.shapeRef(), weightShape, sh, sw, ph, pw);
        g.checkOutputGradient(dy.shapeRef());
        dy = CpuElementwise.dense(dy);
        x = CpuElementwise.dense(x);
        Tensor dw = CpuBackend.allocate(DType.FLOAT32, weightShape);
        float[] dyv = CpuElementwise.floats(dy), xv = CpuElementwise.floats(x), dwv = CpuElementwise.floats(dw);
        if (Winograd.applies(g)) {
            Winograd.backwardWeight(g, dyv, dy.offset(), xv, x.offset(), dwv);
            return dw;
        }
        int imageSize = g.c() * g.h() * g.w(), outSize = g.o() * g.pixels();
        for (int b = 0; b < g.batch(); b++) {
            int xo = x.offset() + b * imageSize;
            Sgemm.BPacker patchesT = g.pointwise() ? Sgemm.matrix(xv, xo, 1, g.pixels()) : transposedPatches(g, xv, xo);
            Sgemm.gemm(g.o(), g.ck(), g.pixels(), dyv, dy.offset() + b * outSize, g.pixels(), 1, patchesT, dwv, 0, g.ck(), b > 0, null);
        }
        return dw;
    }

    /**
     * Packs col[k, p] = x[c, oy·sh - ph + i, ox·sw - pw + j] for k = (c, i, j), p = (oy, ox):
     * per k, runs of pixels in one output row read consecutive input columns (stride 1).
     */
    private static Sgemm.BPacker patches(ConvGeometry g, float[] x, int xo) {
        return (k0, kc, n0, nc, dst) -> {
            int nr = Sgemm.NR, panels = (nc + nr - 1) / nr;
            Parallel.forRange(panels, 1, (q0, q1) -> {
                for (int q = q0; q < q1; q++) {
                    int pStart = n0 + q * nr, w = Math.min(nr, n0 + nc - pStart), base = q * kc * nr;
                    for (int kk = 0; kk < kc; kk++) {
                        int k = k0 + kk, c = k / (g.kh() * g.kw()), r = k % (g.kh() * g.kw()), i = r / g.kw(), j = r % g.kw();
                        int d = base + kk * nr, cBase = xo + c * g.h() * g.w();
                        int p = pStart, oy = p / g.ow(), ox = p % g.ow(), t = 0;
                        while (t < w) {
                            int run = Math.min(w - t, g.ow() - ox);
                            int iy = oy * g.sh() - g.ph() + i;
                            if (iy < 0 || iy >= g.h()) {
                                Arrays.fill(dst, d + t, d + t + run, 0f);
                            } else {
                                int row = cBase + iy * g.w();
                                if (g.sw() == 1) {
                                    // Input columns ix = ox - pw + j ... for the run; zero outside [0, w).
                                    int ix0 = ox - g.pw() + j;
                                    int lo = Math.max(0, -ix0), hi = Math.min(run, g.w() - ix0);
                                    if (lo > 0) Arrays.fill(dst, d + t, d + t + Math.min(lo, run), 0f);
                                    if (hi > lo) System.arraycopy(x, row + ix0 + lo, dst, d + t + lo, hi - lo);
                                    if (hi < run) Arrays.fill(dst, d + t + Math.max(hi, 0), d + t + run, 0f);
                                } else {
                                    for (int u = 0; u < run; u++) {
                                        int ix = (ox + u) * g.sw() - g.pw() + j;
                                        dst[d + t + u] = ix >= 0 && ix < g.w() ? x[row + ix] : 0f;
                                    }
                                }
                            }
                            t += run;
                            ox = 0;
                            oy++;
                        }
                        if (w < nr) Arrays.fill(dst, d + w, d + nr, 0f);
                    }
                }
            });
        };
    }

    /**
     * Packs colᵀ[p, k]: rows are output pixels, columns are (c, i, j). Pixels go in runs along
     * one output row, and per run each column reads consecutive input columns (stride 1), so
     * padding is decided once per run, not per element; a run's rows of the panel stay in L1
     * while its columns are filled.
     */
    private static Sgemm.BPacker transposedPatches(ConvGeometry g, float[] x, int xo) {
        return (k0, kc, n0, nc, dst) -> {
            int nr = Sgemm.NR, panels = (nc + nr - 1) / nr;
            Parallel.forRange(panels, 1, (q0, q1) -> {
                int[] chanOff = new int[nr], ki = new int[nr], kj = new int[nr];
                for (int q = q0; q < q1; q++) {
                    int kStart = n0 + q * nr, w = Math.min(nr, n0 + nc - kStart), base = q * kc * nr;
                    for (int t = 0; t < w; t++) {
                        int k = kStart + t, r = k % (g.kh() * g.kw());
                        chanOff[t] = xo + k / (g.kh() * g.kw()) * g.h() * g.w();
                        ki[t] = r / g.kw();
                        kj[t] = r % g.kw();
                    }
                    int p = k0, oy = p / g.ow(), ox = p % g.ow(), u = 0;
                    while (u < kc) {
                        int run = Math.min(kc - u, g.ow() - ox), d = base + u * nr;
                        for (int t = 0; t < nr; t++) {
                            int iy = oy * g.sh() - g.ph() + ki[t];
                            if (t >= w || iy < 0 || iy >= g.h()) {
                                for (int v = 0; v < run; v++) dst[d + v * nr + t] = 0f;
                                continue;
                            }
                            int row = chanOff[t] + iy * g.w();
                            if (g.sw() == 1) {
                                int ix0 = ox - g.pw() + kj[t];
                                int lo = Math.min(run, Math.max(0, -ix0)), hi = Math.max(lo, Math.min(run, g.w() - ix0));
                                for (int v = 0; v < lo; v++) dst[d + v * nr + t] = 0f;
                                for (int v = lo, src = row + ix0; v < hi; v++) dst[d + v * nr + t] = x[src + v];
                                for (int v = hi; v < run; v++) dst[d + v * nr + t] = 0f;
                            } else {
                                for (int v = 0; v < run; v++) {
                                    int ix = (ox + v) * g.sw() - g.pw() + kj[t];
                                    dst[d + v * nr + t] = ix >= 0 && ix < g.w() ? x[row + ix] : 0f;
                                }
                            }
                        }
                        u += run;
                        ox = 0;
                        oy++;
                    }
                }
            });
        };
    }

    /** dx[c, iy, ix] += dcol[(c, i, j), p] for the chunk of pixels p0 .. p0+np; parallel over channels. */
    private static void col2im(ConvGeometry g, float[] dcol, int np, int p0, float[] dx, int dxo) {
        int kk = g.kh() * g.kw();
        Parallel.forRange(g.c(), 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                int cBase = dxo + c * g.h() * g.w();
                for (int r = 0; r < kk; r++) {
                    int i = r / g.kw(), j = r % g.kw(), row = (c * kk + r) * np;
                    for (int t = 0; t < np; t++) {
                        int p = p0 + t, oy = p / g.ow(), ox = p % g.ow();
                        int iy = oy * g.sh() - g.ph() + i, ix = ox * g.sw() - g.pw() + j;
                        if (iy >= 0 && iy < g.h() && ix >= 0 && ix < g.w()) dx[cBase + iy * g.w() + ix] += dcol[row + t];
                    }
                }
            }
        });
    }
}
