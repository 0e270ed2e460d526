package dev.magvit4j.ops;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.testing.Ref;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SoftmaxTest {

    /** Softmax (or log-softmax) of x (row-major, shape) over one dim, in double. */
    private static double[] softmaxOverDim(double[] x, int[] shape, int dim, boolean log) {
        int n = shape[dim], inner = 1, outer = 1;
        for (int d = dim + 1; d < shape.length; d++) inner *= shape[d];
        for (int d = 0; d < dim; d++) outer *= shape[d];
        double[] y = new double[x.length], row = new double[n];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                for (int k = 0; k < n; k++) row[k] = x[(o * n + k) * inner + i];
                double[] r = Ref.softmax(row, n, log);
                for (int k = 0; k < n; k++) y[(o * n + k) * inner + i] = r[k];
            }
        return y;
    }

    private static void check(int[] shape, int dim, Generator gen) {
        int d = dim < 0 ? dim + shape.length : dim;
        for (boolean log : new boolean[] {false, true}) {
            Tensor x = Tensor.randn(gen, shape).mul(2f).requiresGrad(true);
            String name = (log ? "log_softmax" : "softmax") + " over dim " + dim + " of " + java.util.Arrays.toString(shape);
            GradCheck.check(name, in -> {
                Tensor y = log ? in[0].logSoftmax(dim) : in[0].softmax(dim);
                assertArrayEquals(shape, y.shapeRef(), name);
                return y;
            }, in -> softmaxOverDim(in[0], shape, d, log), x);
        }
    }

    @Test
    void lastDim() {
        Generator gen = new Generator(61);
        check(new int[] {3, 4, 17}, -1, gen);
        check(new int[] {5, 33}, 1, gen);
        check(new int[] {7}, 0, gen);
        check(new int[] {2, 1}, -1, gen);   // one class: softmax 1, log-softmax 0
    }

    @Test
    void middleAndLeadingDims() {
        Generator gen = new Generator(62);
        check(new int[] {3, 5, 4}, 1, gen);
        check(new int[] {3, 5, 4}, -2, gen);
        check(new int[] {6, 2, 3}, 0, gen);
    }

    @Test
    void stridedInput() {
        Generator gen = new Generator(63);
        Tensor x = GradCheck.param(gen, 9, 4);
        GradCheck.check("softmax of transposed", in -> in[0].mT().softmax(-1), in -> {
            double[] t = new double[36];
            for (int i = 0; i < 9; i++) for (int j = 0; j < 4; j++) t[j * 9 + i] = in[0][i * 4 + j];
            return Ref.softmax(t, 9, false);
        }, x);
    }

    @Test
    void largeValuesDoNotOverflow() {
        float[] v = {1000f, 1001f, 999f, 1000.5f, -1000f, 0f, 500f, 1001f};
        for (boolean log : new boolean[] {false, true}) {
            Tensor x = Tensor.of(v.clone(), 2, 4).requiresGrad(true);
            GradCheck.check(log ? "log_softmax large" : "softmax large", in -> log ? in[0].logSoftmax(-1) : in[0].softmax(-1),
                    in -> Ref.softmax(in[0], 4, log), x);
            float[] y = (log ? x.logSoftmax(-1) : x.softmax(-1)).toFloatArray();
            for (float f : y) assertTrue(Float.isFinite(f), java.util.Arrays.toString(y));
        }
    }

    @Test
    void negativeInfinityEntries() {
        float ninf = Float.NEGATIVE_INFINITY;
        float[] v = {0.5f, ninf, 2f, ninf, -1f, 1f, 0f, 3f};
        Tensor x = Tensor.of(v, 2, 4);
        double[] xd = GradCheck.toDouble(x);
        // Forward: -inf entries give probability 0 (log-probability -inf), the rest a softmax of the finite ones.
        double[] p = Ref.softmax(xd, 4, false), lp = Ref.softmax(xd, 4, true);
        assertEquals(0.0, p[1]);
        assertEquals(Double.NEGATIVE_INFINITY, lp[1]);
        float[] ps = x.softmax(-1).toFloatArray(), lps = x.logSoftmax(-1).toFloatArray();
        for (int i = 0; i < 8; i++) {
            if (xd[i] == Double.NEGATIVE_INFINITY) {
                assertEquals(0f, ps[i], "softmax at " + i);
                assertEquals(ninf, lps[i], "log_softmax at " + i);
            } else {
                assertEquals(p[i], ps[i], 1e-6, "softmax at " + i);
                assertEquals(lp[i], lps[i], 1e-5, "log_softmax at " + i);
            }
        }
        // Gradients: finite differences cannot step off -inf, so compare with the analytic
        // gradient in double: softmax dx = y·(g - Σ g·y), log-softmax dx = g - p·Σ g.
        // For -inf entries softmax gives 0 (as PyTorch); log-softmax gives g there (as PyTorch).
        Generator gen = new Generator(64);
        Tensor g = Tensor.randn(gen, 2, 4);
        double[] gd = GradCheck.toDouble(g);
        for (boolean log : new boolean[] {false, true}) {
            Tensor xr = Tensor.of(v.clone(), 2, 4).requiresGrad(true);
            (log ? xr.logSoftmax(-1) : xr.softmax(-1)).backward(g);
            double[] expected = new double[8];
            for (int r = 0; r < 2; r++) {
                double s = 0;
                for (int i = 0; i < 4; i++) s += log ? gd[r * 4 + i] : gd[r * 4 + i] * p[r * 4 + i];
                for (int i = 0; i < 4; i++) {
                    int k = r * 4 + i;
                    expected[k] = log ? gd[k] - p[k] * s : p[k] * (gd[k] - s);
                }
            }
            GradCheck.assertClose((log ? "log_softmax" : "softmax") + " gradient with -inf", expected, GradCheck.toDouble(xr.grad()), GradCheck.GRAD_TOL);
        }
    }

    // ------------------------------------------------------------------ cross-entropy

    /** Mean over non-ignored rows of logsumexp(row) - row[target]. */
    private static double crossEntropyReference(double[] logits, double[] targets, int classes, long ignore) {
        double total = 0;
        int counted = 0;
        for (int r = 0; r < targets.length; r++) {
            long t = (long) targets[r];
            if (t == ignore) continue;
            double mx = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < classes; i++) mx = Math.max(mx, logits[r * classes + i]);
            for (int i = 0; i < classes; i++) s += Math.exp(logits[r * classes + i] - mx);
            total += mx + Math.log(s) - logits[r * classes + (int) t];
            counted++;
        }
        return total / counted;
    }

    @Test
    void crossEntropyInt64AndInt32Targets() {
        Generator gen = new Generator(65);
        int rows = 6, classes = 7;
        long[] t = {0, 6, 3, 3, 1, 5};
        Tensor logits = Tensor.randn(gen, rows, classes).mul(2f).requiresGrad(true);
        int[] ti = new int[rows];
        for (int i = 0; i < rows; i++) ti[i] = (int) t[i];
        for (Tensor targets : new Tensor[] {Tensor.ofLongs(t), Tensor.ofInts(ti)}) {
            GradCheck.check("cross entropy " + targets.dtype(), in -> {
                Tensor loss = Softmax.crossEntropy(in[0], in[1]);
                assertEquals(0, loss.dim());
                return loss;
            }, in -> new double[] {crossEntropyReference(in[0], in[1], classes, Softmax.IGNORE_INDEX)}, logits, targets);
        }
        // Large logits stay finite.
        Tensor big = Tensor.of(new float[] {1000f, 1001f, 999f, -1000f, 0f, 1000f}, 2, 3).requiresGrad(true);
        GradCheck.check("cross entropy large logits", in -> Softmax.crossEntropy(in[0], in[1]),
                in -> new double[] {crossEntropyReference(in[0], in[1], 3, Softmax.IGNORE_INDEX)}, big, Tensor.ofLongs(new long[] {1, 0}));
    }

    @Test
    void crossEntropyIgnoreIndex() {
        Generator gen = new Generator(66);
        int rows = 5, classes = 4;
        long[] t = {2, Softmax.IGNORE_INDEX, 0, Softmax.IGNORE_INDEX, 3};
        Tensor logits = Tensor.randn(gen, rows, classes).requiresGrad(true);
        Tensor targets = Tensor.ofLongs(t);
        GradCheck.check("cross entropy ignore_index", in -> Softmax.crossEntropy(in[0], in[1]),
                in -> new double[] {crossEntropyReference(in[0], in[1], classes, Softmax.IGNORE_INDEX)}, logits, targets);
        logits.zeroGrad();
        Softmax.crossEntropy(logits, targets).backward();
        float[] g = logits.grad().toFloatArray();
        for (int r : new int[] {1, 3}) for (int i = 0; i < classes; i++) assertEquals(0f, g[r * classes + i], "ignored row " + r);
        // Each counted row's gradient sums to zero and carries 1/3 (three rows counted).
        for (int r : new int[] {0, 2, 4}) {
            double s = 0;
            for (int i = 0; i < classes; i++) s += g[r * classes + i];
            assertEquals(0.0, s, 1e-6);
            assertTrue(g[r * classes + (int) t[r]] < 0 && g[r * classes + (int) t[r]] > -1.0 / 3);
        }
        // A custom ignore index that is a valid class, with int32 targets.
        Tensor ti = Tensor.ofInts(new int[] {1, 2, 1, 0, 3});
        GradCheck.check("cross entropy ignore_index 1", in -> Softmax.crossEntropy(in[0], in[1], 1),
                in -> new double[] {crossEntropyReference(in[0], in[1], classes, 1)}, logits, ti);
    }

    @Test
    void crossEntropyTargetOutOfRange() {
        Tensor logits = Tensor.zeros(3, 5);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> Softmax.crossEntropy(logits, Tensor.ofLongs(new long[] {0, 9, 1})));
        assertTrue(e.getMessage().contains("9") && e.getMessage().contains("5 classes"), e.getMessage());
        e = assertThrows(IndexOutOfBoundsException.class, () -> Softmax.crossEntropy(logits, Tensor.ofInts(new int[] {5, 0, 1})));
        assertTrue(e.getMessage().contains("target 5") && e.getMessage().contains("5 classes"), e.getMessage());
        e = assertThrows(IndexOutOfBoundsException.class, () -> Softmax.crossEntropy(logits, Tensor.ofLongs(new long[] {0, -1, 1})));
        assertTrue(e.getMessage().contains("-1") && e.getMessage().contains("5 classes"), e.getMessage());
    }
}
