package dev.magvit4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.function.UnaryOperator;

/**
 * Prints the bits of every VectorMath function on a fixed input, one hex word per value. Run by
 * VectorMathTest in a child JVM with -Xint, to compare the interpreter's bits with C2's.
 */
public final class VectorMathProbe {

    private VectorMathProbe() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Deterministic inputs: a spread over [-20, 20], some large and tiny values, and the special cases. */
    static float[] inputs() {
        int n = 4 * S.length() * 16;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (20 * Math.sin(0.37 * i + 0.1) * Math.cos(0.011 * i));
        float[] special = {0f, -0f, 1e-40f, -1e-40f, 1e-30f, 88f, 89f, -87f, -104f, 100f, -100f, Float.NaN,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0.39f, 0.41f, -0.39f, 3e30f};
        System.arraycopy(special, 0, x, 0, special.length);
        return x;
    }

    static String run(float[] x) {
        StringBuilder sb = new StringBuilder();
        apply(sb, x, VectorMath::exp);
        apply(sb, x, VectorMath::log);
        apply(sb, x, VectorMath::tanh);
        apply(sb, x, VectorMath::sigmoid);
        apply(sb, x, VectorMath::softplus);
        apply(sb, x, v -> VectorMath.pow(v, 0.37f));
        apply(sb, x, v -> VectorMath.pow(v, -3f));
        for (int i = 0; i < x.length; i += S.length()) sb.append(Integer.toHexString(Float.floatToRawIntBits(VectorMath.sum(FloatVector.fromArray(S, x, i))))).append(' ');
        return sb.toString();
    }

    private static void apply(StringBuilder sb, float[] x, UnaryOperator<FloatVector> f) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += S.length()) f.apply(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        for (float v : y) sb.append(Integer.toHexString(Float.floatToRawIntBits(v))).append(' ');
        sb.append('\n');
    }

    public static void main(String[] args) {
        System.out.print(run(inputs()));
    }
}
