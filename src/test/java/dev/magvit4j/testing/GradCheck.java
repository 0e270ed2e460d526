package dev.magvit4j.testing;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks an op against a plain reference written in double precision:
 * <ol>
 * <li>forward: the op's float32 output against the reference's, relative to the output's scale;
 * <li>backward: with a random upstream gradient w, the gradient of Σ w·op(x) that autograd
 *     returns for each input requiring grad, against central finite differences of Σ w·ref(x)
 *     computed in double (so the differences are exact to ~1e-9, not float32 noise).
 * </ol>
 */
public final class GradCheck {

    private GradCheck() {}

    /** Reference: inputs as row-major doubles (integer tensors converted), output row-major. */
    @FunctionalInterface
    public interface Reference {
        double[] apply(double[][] inputs);
    }

    public static final double FORWARD_TOL = 1e-5;
    public static final double GRAD_TOL = 1e-3;
    /** Elements per input whose gradient is checked by differences (all when fewer). */
    private static final int SAMPLES = 48;

    public static void check(String name, Function<Tensor[], Tensor> op, Reference ref, Tensor... inputs) {
        check(name, op, ref, FORWARD_TOL, GRAD_TOL, inputs);
    }

    public static void check(String name, Function<Tensor[], Tensor> op, Reference ref, double forwardTol, double gradTol, Tensor... inputs) {
        double[][] x = new double[inputs.length][];
        for (int i = 0; i < inputs.length; i++) x[i] = toDouble(inputs[i]);
        Tensor out = op.apply(inputs);
        double[] expected = ref.apply(copy(x));
        assertEquals(expected.length, out.numel(), name + ": reference gives " + expected.length + " values, op gives shape " + Shape.str(out.shapeRef()));
        assertClose(name + " forward", expected, toDouble(out), forwardTol);

        boolean anyGrad = false;
        for (Tensor t : inputs) anyGrad |= t.requiresGrad();
        if (!anyGrad) return;
        // Mixed so it never equals a seed a test derives from the same name for its inputs.
        Generator gen = new Generator(Generator.mix64(name.hashCode() ^ 0x6AD0_C4EC_0000L));
        Tensor w = Tensor.randn(gen, out.shapeRef());
        double[] wd = toDouble(w);
        for (Tensor t : inputs) t.zeroGrad();
        out.backward(w);
        for (int i = 0; i < inputs.length; i++) {
            Tensor t = inputs[i];
            if (!t.requiresGrad()) continue;
            assertNotNull(t.grad(), name + ": input " + i + " got no gradient");
            assertTrue(Arrays.equals(t.grad().shapeRef(), t.shapeRef()), name + ": gradient shape " + Shape.str(t.grad().shapeRef()) + " for input " + Shape.str(t.shapeRef()));
            double[] analytic = toDouble(t.grad());
            int n = x[i].length;
            int[] positions = samplePositions(n, gen);
            double[] numeric = new double[positions.length], picked = new double[positions.length];
            for (int s = 0; s < positions.length; s++) {
                int p = positions[s];
                double h = 1e-6 * Math.max(1.0, Math.abs(x[i][p]));
                double[][] plus = copy(x), minus = copy(x);
                plus[i][p] += h;
                minus[i][p] -= h;
                numeric[s] = (dot(wd, ref.apply(plus)) - dot(wd, ref.apply(minus))) / (2 * h);
                picked[s] = analytic[p];
            }
            assertClose(name + " gradient of input " + i, numeric, picked, gradTol);
        }
    }

    private static int[] samplePositions(int n, Generator gen) {
        if (n <= SAMPLES) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) all[i] = i;
            return all;
        }
        int[] p = new int[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) p[i] = gen.nextInt(n);
        return p;
    }

    /** max |a - b| / max |expected| below tol (with a floor of 1e-6 on the scale). */
    public static void assertClose(String what, double[] expected, double[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": lengths differ");
        double scale = 1e-6, worst = 0;
        int at = -1;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]);
            if (!(err <= worst)) {
                worst = err;
                at = i;
            }
        }
        if (!(worst / scale <= tol)) {
            fail(String.format("%s: relative error %.3g > %.1g at element %d (expected %.7g, got %.7g, scale %.3g)",
                    what, worst / scale, tol, at, expected[at], actual[at], scale));
        }
    }

    public static void assertClose(String what, Tensor expected, Tensor actual, double tol) {
        assertTrue(Arrays.equals(expected.shapeRef(), actual.shapeRef()), what + ": shape " + Shape.str(actual.shapeRef()) + ", expected " + Shape.str(expected.shapeRef()));
        assertClose(what, toDouble(expected), toDouble(actual), tol);
    }

    public static double[] toDouble(Tensor t) {
        try (var ignored = Autograd.noGrad()) {
            if (t.dtype() == DType.FLOAT32) {
                float[] f = t.toFloatArray();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) d[i] = f[i];
                return d;
            }
            long[] l = t.toLongArray();
            double[] d = new double[l.length];
            for (int i = 0; i < l.length; i++) d[i] = l[i];
            return d;
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static double[][] copy(double[][] x) {
        double[][] c = new double[x.length][];
        for (int i = 0; i < x.length; i++) c[i] = x[i].clone();
        return c;
    }

    /** A float32 leaf tensor of normal samples that requires grad. */
    public static Tensor param(Generator gen, int... shape) {
        return Tensor.randn(gen, shape).requiresGrad(true);
    }
}
