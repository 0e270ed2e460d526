package dev.magvit4j.testing;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** The checker itself must catch a wrong forward and a wrong backward. */
class GradCheckTest {

    private static double[] cube(double[][] in) {
        double[] y = new double[in[0].length];
        for (int i = 0; i < y.length; i++) y[i] = in[0][i] * in[0][i] * in[0][i];
        return y;
    }

    @Test
    void acceptsACorrectOp() {
        Tensor x = Tensor.randn(new Generator(1), 10).requiresGrad(true);
        GradCheck.check("cube", in -> in[0].pow(3f), GradCheckTest::cube, x);
    }

    @Test
    void catchesAWrongBackward() {
        Tensor x = Tensor.randn(new Generator(1), 10).requiresGrad(true);
        // Forward is x^3, backward claims 3.01 x^2.
        assertThrows(AssertionFailedError.class, () -> GradCheck.check("bad grad", in -> {
            Tensor t = in[0];
            Tensor y;
            try (var ignored = Autograd.noGrad()) {
                y = t.pow(3f);
            }
            return Autograd.record(y, "bad", g -> new Tensor[] {g.mul(t.square()).mul(3.01f)}, t);
        }, GradCheckTest::cube, x));
    }

    @Test
    void catchesAWrongForward() {
        Tensor x = Tensor.randn(new Generator(1), 10).requiresGrad(true);
        assertThrows(AssertionFailedError.class, () -> GradCheck.check("bad forward", in -> in[0].pow(3f).mul(1.001f), GradCheckTest::cube, x));
    }
}
