package dev.magvit4j.testing;

import java.util.function.DoubleBinaryOperator;

/**
 * Plain double-precision reference implementations for tests: straightforward loops over
 * row-major arrays with explicit shapes, written for clarity rather than speed.
 */
public final class Ref {

    private Ref() {}

    public static int numel(int[] s) {
        int n = 1;
        for (int d : s) n *= d;
        return n;
    }

    /** Multi-index of flat position i in a row-major shape. */
    public static int[] unravel(int i, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = i % shape[d];
            i /= shape[d];
        }
        return idx;
    }

    public static int ravel(int[] idx, int[] shape) {
        int o = 0;
        for (int d = 0; d < shape.length; d++) o = o * shape[d] + idx[d];
        return o;
    }

    public static int[] broadcastShape(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)], db = i < r - b.length ? 1 : b[i - (r - b.length)];
            out[i] = Math.max(da, db);
        }
        return out;
    }

    /** Value of x (shape xs) at the broadcast multi-index idx of a larger shape. */
    public static double at(double[] x, int[] xs, int[] idx) {
        int o = 0, lead = idx.length - xs.length;
        for (int d = 0; d < xs.length; d++) o = o * xs[d] + (xs[d] == 1 ? 0 : idx[lead + d]);
        return x[o];
    }

    public static double[] binary(double[] a, int[] as, double[] b, int[] bs, DoubleBinaryOperator f) {
        int[] os = broadcastShape(as, bs);
        double[] out = new double[numel(os)];
        for (int i = 0; i < out.length; i++) {
            int[] idx = unravel(i, os);
            out[i] = f.applyAsDouble(at(a, as, idx), at(b, bs, idx));
        }
        return out;
    }

    /** Sum over the flagged dims (keepdim layout: reduced dims become 1). */
    public static double[] sum(double[] x, int[] xs, boolean[] reduce) {
        int[] os = xs.clone();
        for (int d = 0; d < xs.length; d++) if (reduce[d]) os[d] = 1;
        double[] out = new double[numel(os)];
        for (int i = 0; i < x.length; i++) {
            int[] idx = unravel(i, xs);
            for (int d = 0; d < xs.length; d++) if (reduce[d]) idx[d] = 0;
            out[ravel(idx, os)] += x[i];
        }
        return out;
    }

    /** a [batch, m, k] · b [batch, k, n] (batch already broadcast by the caller). */
    public static double[] matmul(double[] a, double[] b, int batch, int m, int k, int n) {
        double[] c = new double[batch * m * n];
        for (int z = 0; z < batch; z++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += a[z * m * k + i * k + p] * b[z * k * n + p * n + j];
                    c[z * m * n + i * n + j] = s;
                }
            }
        }
        return c;
    }

    /** NCHW convolution with OIHW weight, optional bias. */
    public static double[] conv2d(double[] x, int[] xs, double[] w, int[] ws, double[] bias, int sh, int sw, int ph, int pw) {
        int b = xs[0], c = xs[1], h = xs[2], wd = xs[3], o = ws[0], kh = ws[2], kw = ws[3];
        int oh = (h + 2 * ph - kh) / sh + 1, ow = (wd + 2 * pw - kw) / sw + 1;
        double[] y = new double[b * o * oh * ow];
        for (int n = 0; n < b; n++)
            for (int oc = 0; oc < o; oc++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double s = bias == null ? 0 : bias[oc];
                        for (int ic = 0; ic < c; ic++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++) {
                                    int iy = oy * sh - ph + i, ix = ox * sw - pw + j;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    s += x[((n * c + ic) * h + iy) * wd + ix] * w[((oc * c + ic) * kh + i) * kw + j];
                                }
                        y[((n * o + oc) * oh + oy) * ow + ox] = s;
                    }
        return y;
    }

    /** Softmax (or log-softmax) over the last dim of rows x n. */
    public static double[] softmax(double[] x, int n, boolean log) {
        double[] y = new double[x.length];
        for (int r = 0; r < x.length / n; r++) {
            double mx = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < n; i++) mx = Math.max(mx, x[r * n + i]);
            for (int i = 0; i < n; i++) s += Math.exp(x[r * n + i] - mx);
            for (int i = 0; i < n; i++) {
                double v = x[r * n + i] - mx;
                y[r * n + i] = log ? v - Math.log(s) : Math.exp(v) / s;
            }
        }
        return y;
    }

    /**
     * GroupNorm of x [B, C, hw] with optional scale/shift: per-channel ([C], perSample false)
     * or per-sample-and-channel ([B, C], perSample true).
     */
    public static double[] groupNorm(double[] x, int b, int c, int hw, int groups, double eps,
                                     double[] scale, double[] shift, boolean perSample) {
        double[] y = new double[x.length];
        int cpg = c / groups, n = cpg * hw;
        for (int s = 0; s < b; s++) {
            for (int g = 0; g < groups; g++) {
                int base = (s * c + g * cpg) * hw;
                double mean = 0, var = 0;
                for (int i = 0; i < n; i++) mean += x[base + i];
                mean /= n;
                for (int i = 0; i < n; i++) var += (x[base + i] - mean) * (x[base + i] - mean);
                var /= n;
                double r = 1 / Math.sqrt(var + eps);
                for (int cc = 0; cc < cpg; cc++) {
                    int ch = g * cpg + cc, t = perSample ? s * c + ch : ch;
                    for (int i = 0; i < hw; i++) {
                        int p = base + cc * hw + i;
                        double v = (x[p] - mean) * r;
                        if (scale != null) v *= scale[t];
                        if (shift != null) v += shift[t];
                        y[p] = v;
                    }
                }
            }
        }
        return y;
    }

    public static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
