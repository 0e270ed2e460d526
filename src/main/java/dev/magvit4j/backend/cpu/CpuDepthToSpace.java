package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Depth-to-space in DCR order (SPEC.md section 1): out[n, c, y·r+i, x·r+j] = in[n, (i·r+j)·C + c, y, x],
 * and its inverse space-to-depth (the backward). Each output row y·r+i interleaves r input rows
 * (j = 0..r-1); for r = 2 the interleave runs on vectors with a two-table permute.
 */
final class CpuDepthToSpace {

    private CpuDepthToSpace() {}

    private static final VectorSpecies<Float> S = CpuElementwise.S;
    private static final int L = S.length();
    /** Lane patterns: interleave (a0 b0 a1 b1 ...) of two vectors, low and high halves, and its inverse. */
    private static final FloatVector ZIP_LO = indexVector(i -> (i % 2) * L + i / 2);
    private static final FloatVector ZIP_HI = indexVector(i -> (i % 2) * L + L / 2 + i / 2);
    private static final FloatVector EVEN = indexVector(i -> 2 * i);
    private static final FloatVector ODD = indexVector(i -> 2 * i + 1);

    private static FloatVector indexVector(java.util.function.IntUnaryOperator f) {
        float[] v = new float[L];
        for (int i = 0; i < L; i++) v[i] = f.applyAsInt(i);
        return FloatVector.fromArray(S, v, 0);
    }

    static Tensor apply(Tensor x, int r, boolean inverse) {
        int[] s = x.shapeRef();
        int[] outShape = Backend.depthToSpaceShape(s, r, inverse);
        x = CpuElementwise.dense(x);
        float[] in = CpuElementwise.floats(x);
        int xo = x.offset();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, outShape);
        float[] o = CpuElementwise.floats(out);
        // Geometry in depth terms: C' channels of H x W pixels on the deep side, (H·r) x (W·r) on the wide side.
        int[] deep = inverse ? outShape : s;
        int batch = deep[0], cOut = deep[1] / (r * r), h = deep[2], w = deep[3];
        int deepPlane = h * w, widePlane = deepPlane * r * r, wideRow = w * r;
        Parallel.forRange(batch * cOut * h, Math.max(1, 4096 / Math.max(wideRow, 1)), (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int n = t / (cOut * h), c = (t / h) % cOut, y = t % h;
                for (int i = 0; i < r; i++) {
                    int wide = (n * cOut + c) * widePlane + (y * r + i) * wideRow;
                    int deep0 = (n * cOut * r * r) * deepPlane + c * deepPlane + y * w; // channel (i·r + j)·C + c
                    if (r == 2) {
                        int a = deep0 + (i * 2) * cOut * deepPlane, b = a + cOut * deepPlane;
                        if (inverse) unzip(in, xo + wide, o, a, b, w);
                        else zip(in, xo + a, xo + b, o, wide, w);
                    } else {
                        for (int j = 0; j < r; j++) {
                            int d = deep0 + (i * r + j) * cOut * deepPlane;
                            for (int xx = 0; xx < w; xx++) {
                                if (inverse) o[d + xx] = in[xo + wide + xx * r + j];
                                else o[wide + xx * r + j] = in[xo + d + xx];
                            }
                        }
                    }
                }
            }
        });
        return out;
    }

    /** dst[2x] = src[a+x], dst[2x+1] = src[b+x] for x < w. */
    private static void zip(float[] src, int a, int b, float[] dst, int d, int w) {
        int x = 0;
        for (; x + L <= w; x += L) {
            FloatVector va = FloatVector.fromArray(S, src, a + x), vb = FloatVector.fromArray(S, src, b + x);
            ZIP_LO.selectFrom(va, vb).intoArray(dst, d + 2 * x);
            ZIP_HI.selectFrom(va, vb).intoArray(dst, d + 2 * x + L);
        }
        for (; x < w; x++) {
            dst[d + 2 * x] = src[a + x];
            dst[d + 2 * x + 1] = src[b + x];
        }
    }

    /** dst[a+x] = src[s+2x], dst[b+x] = src[s+2x+1] for x < w. */
    private static void unzip(float[] src, int s, float[] dst, int a, int b, int w) {
        int x = 0;
        for (; x + L <= w; x += L) {
            FloatVector lo = FloatVector.fromArray(S, src, s + 2 * x), hi = FloatVector.fromArray(S, src, s + 2 * x + L);
            EVEN.selectFrom(lo, hi).intoArray(dst, a + x);
            ODD.selectFrom(lo, hi).intoArray(dst, b + x);
        }
        for (; x < w; x++) {
            dst[a + x] = src[s + 2 * x];
            dst[b + x] = src[s + 2 * x + 1];
        }
    }
}
