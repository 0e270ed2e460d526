package dev.magvit4j.ops;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;

class PoolingTest {

    private static double[] maxPoolRef(double[] x, int b, int c, int h, int w, int k, int s) {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        double[] y = new double[b * c * oh * ow];
        for (int p = 0; p < b * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u < k; u++) for (int v = 0; v < k; v++) m = Math.max(m, x[(p * h + i * s + u) * w + j * s + v]);
                    y[(p * oh + i) * ow + j] = m;
                }
        return y;
    }

    @Test
    void maxPoolForwardAndBackward() {
        int[][] cases = {{2, 3, 8, 8, 2, 2}, {1, 2, 7, 9, 2, 2}, {1, 2, 9, 9, 3, 2}, {1, 1, 5, 5, 3, 1}};
        for (int[] c : cases) {
            String name = "max pool " + java.util.Arrays.toString(c);
            Tensor x = GradCheck.param(new Generator(name.hashCode()), c[0], c[1], c[2], c[3]);
            GradCheck.check(name, in -> Pooling.maxPool2d(in[0], c[4], c[5]), in -> maxPoolRef(in[0], c[0], c[1], c[2], c[3], c[4], c[5]), x);
        }
        assertThrows(IllegalArgumentException.class, () -> Pooling.maxPool2d(Tensor.zeros(1, 1, 1, 1), 2, 2));
    }
}
