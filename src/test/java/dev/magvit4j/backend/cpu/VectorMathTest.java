package dev.magvit4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import dev.magvit4j.testing.ChildJvm;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorMathTest {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    // Bounds are the measured worst cases rounded up (softplus composes exp and log; pow see VectorMath.pow).

    /** Largest error in ulps of f against the exact function (in double) over the inputs. */
    private static double maxUlps(UnaryOperator<FloatVector> f, DoubleUnaryOperator exact, float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += S.length()) f.apply(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            double e = exact.applyAsDouble(x[i]);
            float ef = (float) e;
            if (Float.isNaN(ef)) {
                assertTrue(Float.isNaN(y[i]), "f(" + x[i] + ") = " + y[i] + ", expected NaN");
                continue;
            }
            if (Float.isInfinite(ef) || ef == 0f) {
                assertEquals(ef, y[i], "f(" + x[i] + ")");
                continue;
            }
            worst = Math.max(worst, Math.abs(y[i] - e) / Math.ulp(ef));
        }
        return worst;
    }

    private static void assertUlps(double bound, UnaryOperator<FloatVector> f, DoubleUnaryOperator exact, float[] x) {
        double u = maxUlps(f, exact, x);
        assertTrue(u <= bound, "error " + u + " ulps over [" + x[0] + ", " + x[x.length - 1] + "], allowed " + bound);
    }

    /** The general pow path: at most 2 ulps per unit of |a·log x| over the inputs, plus 2 (VectorMath.pow). */
    private static void assertPowUlps(float a, float[] x) {
        double amplification = 0;
        for (float v : x) if (v != 0f) amplification = Math.max(amplification, Math.abs(a * Math.log(Math.abs(v))));
        assertUlps(2 * amplification + 2, v -> VectorMath.pow(v, a), v -> Math.pow(v, a), x);
    }

    private static float[] range(double lo, double hi, int n) {
        int m = (n + S.length() - 1) / S.length() * S.length();
        float[] x = new float[m];
        for (int i = 0; i < m; i++) x[i] = (float) (lo + (hi - lo) * i / (m - 1));
        return x;
    }

    private static float[] logRange(double lo, double hi, int n) {
        float[] x = range(Math.log(lo), Math.log(hi), n);
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.exp(x[i]);
        return x;
    }

    @Test
    void expIsAccurateOverItsRange() {
        assertUlps(2, VectorMath::exp, Math::exp, range(-87, 88.7, 200_000));
        assertUlps(1, VectorMath::exp, Math::exp, range(-0.01, 0.01, 10_000));
        float[] edges = new float[S.length()];
        float[] values = {Float.NEGATIVE_INFINITY, -200f, 200f, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, 1f};
        System.arraycopy(values, 0, edges, 0, values.length);
        maxUlps(VectorMath::exp, Math::exp, edges);
    }

    @Test
    void logIsAccurateIncludingDenormals() {
        assertUlps(2.5, VectorMath::log, Math::log, logRange(1e-38, 3e38, 200_000));
        assertUlps(2, VectorMath::log, Math::log, range(0.9, 1.1, 50_000));
        assertUlps(2, VectorMath::log, Math::log, logRange(1.5e-45, 1e-38, 10_000));
        float[] edges = new float[S.length()];
        float[] values = {0f, -0f, -1f, Float.POSITIVE_INFINITY, Float.NaN, 1f, Float.MIN_VALUE, Float.MAX_VALUE};
        System.arraycopy(values, 0, edges, 0, values.length);
        maxUlps(VectorMath::log, Math::log, edges);
    }

    @Test
    void tanhSigmoidSoftplusPow() {
        assertUlps(3, VectorMath::tanh, Math::tanh, range(-12, 12, 100_000));
        assertUlps(3, VectorMath::tanh, Math::tanh, range(-0.5, 0.5, 50_000));
        assertUlps(3, VectorMath::sigmoid, x -> 1 / (1 + Math.exp(-x)), range(-80, 80, 100_000));
        assertUlps(4, VectorMath::softplus, x -> Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), range(-60, 20, 100_000));
        assertPowUlps(0.37f, logRange(1e-3, 1e3, 50_000));
        assertPowUlps(0.37f, logRange(1e-20, 1e20, 50_000));
        assertUlps(3, v -> VectorMath.pow(v, -3f), x -> Math.pow(x, -3), range(-5, 5, 50_000));
        assertUlps(4, v -> VectorMath.pow(v, 7f), x -> Math.pow(x, 7), range(-5, 5, 50_000));
        assertPowUlps(17f, range(0.1, 1.5, 50_000));
        assertPowUlps(2.5f, range(-5, 5, 50_000)); // NaN below 0
    }

    @Test
    void sumAddsInAFixedTreeOrder() {
        float[] x = new float[S.length()];
        for (int i = 0; i < x.length; i++) x[i] = i + 1;
        assertEquals(x.length * (x.length + 1) / 2f, VectorMath.sum(FloatVector.fromArray(S, x, 0)));
    }

    /**
     * The point of this class: the interpreter and C2 give the same bits. A child JVM computes
     * every function with -Xint; this JVM computes them after a warm-up long enough for C2.
     */
    @Test
    void interpreterAndCompiledCodeGiveTheSameBits() throws Exception {
        float[] x = VectorMathProbe.inputs();
        for (int i = 0; i < 3000; i++) VectorMathProbe.run(x);
        String compiled = VectorMathProbe.run(x);
        String interpreted = ChildJvm.run(VectorMathProbe.class, List.of("-Xint"), Map.of());
        String[] a = compiled.split("\n"), b = interpreted.split("\n");
        String[] names = {"exp", "log", "tanh", "sigmoid", "softplus", "pow 0.37", "pow -3", "sum"};
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], names[i] + ": interpreted and compiled bits differ");
    }
}
