package dev.magvit4j.ops;

import dev.magvit4j.backend.Backend.UnaryOp;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.testing.Ref;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.function.DoubleUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ElementwiseTest {

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /** Each unary op in double, with the alpha used in the test (POW 3, LEAKY_RELU 0.2). */
    private static DoubleUnaryOperator reference(UnaryOp op) {
        return switch (op) {
            case EXP -> Math::exp;
            case LOG -> Math::log;
            case SQRT -> Math::sqrt;
            case RSQRT -> x -> 1 / Math.sqrt(x);
            case ABS -> Math::abs;
            case SQUARE -> x -> x * x;
            case POW -> x -> Math.pow(x, 3);
            case RELU -> x -> Math.max(x, 0);
            case LEAKY_RELU -> x -> x > 0 ? x : 0.2 * x;
            case SIGMOID -> Ref::sigmoid;
            case SILU -> x -> x * Ref.sigmoid(x);
            case SOFTPLUS -> x -> x > 20 ? x : Math.log1p(Math.exp(x));
            case GELU_TANH -> ElementwiseTest::gelu;
            case TANH -> Math::tanh;
            case SIGN -> Math::signum;
        };
    }

    private static float alpha(UnaryOp op) {
        return op == UnaryOp.POW ? 3f : op == UnaryOp.LEAKY_RELU ? 0.2f : 0f;
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryForwardAndBackward(UnaryOp op) {
        Generator gen = new Generator(op.ordinal());
        // 37 elements: exercises the vector body and the masked tail. Positive inputs where the domain needs it.
        boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
        Tensor x = Tensor.uniform(gen, positive ? 0.5 : -3, 3, 37);
        if (op != UnaryOp.SIGN) x.requiresGrad(true);
        DoubleUnaryOperator f = reference(op);
        GradCheck.check(op.name(), in -> Arithmetic.unary(op, in[0], alpha(op)), in -> {
            double[] y = new double[in[0].length];
            for (int i = 0; i < y.length; i++) y[i] = f.applyAsDouble(in[0][i]);
            return y;
        }, x);
    }

    @Test
    void softplusAboveThresholdIsIdentity() {
        Tensor x = Tensor.of(new float[] {25f, 100f, -100f});
        float[] y = x.softplus().toFloatArray();
        assertEquals(25f, y[0]);
        assertEquals(100f, y[1]);
        assertEquals(0f, y[2], 1e-30);
    }

    @Test
    void unaryOnStridedView() {
        Generator gen = new Generator(3);
        Tensor x = Tensor.randn(gen, 4, 6).requiresGrad(true);
        GradCheck.check("exp of transpose", in -> in[0].transpose(0, 1).exp(), in -> {
            double[] y = new double[24];
            for (int i = 0; i < 6; i++) for (int j = 0; j < 4; j++) y[i * 4 + j] = Math.exp(in[0][j * 6 + i]);
            return y;
        }, x);
    }

    private static void checkBinary(String name, int[] as, int[] bs, java.util.function.BinaryOperator<Tensor> op,
                                    java.util.function.DoubleBinaryOperator f, boolean positiveB) {
        Generator gen = new Generator(name.hashCode());
        Tensor a = Tensor.randn(gen, as).requiresGrad(true);
        Tensor b = (positiveB ? Tensor.uniform(gen, 0.5, 2, bs) : Tensor.randn(gen, bs)).requiresGrad(true);
        GradCheck.check(name, in -> op.apply(in[0], in[1]), in -> Ref.binary(in[0], as, in[1], bs, f), a, b);
    }

    @Test
    void binaryOpsBroadcast() {
        int[][][] shapes = {
                {{3, 4}, {3, 4}},           // same shape
                {{2, 3, 4}, {4}},           // trailing row
                {{2, 3, 4}, {3, 1}},        // middle broadcast
                {{2, 1, 4}, {1, 3, 1}},     // both sides broadcast
                {{5}, {}},                  // scalar
                {{2, 3, 17}, {2, 1, 17}},   // odd inner length
        };
        for (int[][] s : shapes) {
            checkBinary("add", s[0], s[1], Tensor::add, Double::sum, false);
            checkBinary("sub", s[0], s[1], Tensor::sub, (x, y) -> x - y, false);
            checkBinary("mul", s[0], s[1], Tensor::mul, (x, y) -> x * y, false);
            checkBinary("div", s[0], s[1], Tensor::div, (x, y) -> x / y, true);
            checkBinary("maximum", s[0], s[1], Tensor::maximum, Math::max, false);
            checkBinary("minimum", s[0], s[1], Tensor::minimum, Math::min, false);
        }
    }

    @Test
    void scalarArithmetic() {
        Generator gen = new Generator(9);
        Tensor x = Tensor.randn(gen, 3, 5).requiresGrad(true);
        GradCheck.check("affine", in -> in[0].mul(2.5f).add(1f).sub(0.5f).div(2f).neg(), in -> {
            double[] y = new double[in[0].length];
            for (int i = 0; i < y.length; i++) y[i] = -((in[0][i] * 2.5 + 1 - 0.5) / 2);
            return y;
        }, x);
    }

    @Test
    void maximumSplitsTiedGradient() {
        Tensor a = Tensor.of(new float[] {1f, 2f, 3f}).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {1f, 5f, 0f}).requiresGrad(true);
        a.maximum(b).sum().backward();
        assertArrayEquals(new float[] {0.5f, 0f, 1f}, a.grad().toFloatArray());
        assertArrayEquals(new float[] {0.5f, 1f, 0f}, b.grad().toFloatArray());
    }

    @Test
    void incompatibleShapesNameBoth() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"), e.getMessage());
    }

    private static void assertArrayEquals(float[] expected, float[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, 1e-6f);
    }
}
