package dev.magvit4j.ops;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.testing.Ref;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexingTest {

    // ------------------------------------------------------------------ embedding

    /** Rows of w [n, d] picked by the indices (as doubles), row-major [..., d]. */
    private static double[] embeddingReference(double[] w, double[] idx, int d) {
        double[] out = new double[idx.length * d];
        for (int i = 0; i < idx.length; i++) System.arraycopy(w, (int) idx[i] * d, out, i * d, d);
        return out;
    }

    @Test
    void embeddingInt64AndInt32Indices() {
        Generator gen = new Generator(71);
        int rows = 10, d = 5;
        Tensor w = GradCheck.param(gen, rows, d);
        long[] idx = {3, 0, 9, 3, 3, 7};   // repeated 3: its gradient row sums three upstream rows
        int[] idx32 = new int[idx.length];
        for (int i = 0; i < idx.length; i++) idx32[i] = (int) idx[i];
        for (Tensor indices : new Tensor[] {Tensor.ofLongs(idx, 2, 3), Tensor.ofInts(idx32, 2, 3)}) {
            String name = "embedding " + indices.dtype();
            GradCheck.check(name, in -> {
                Tensor y = Indexing.embedding(in[0], in[1]);
                assertArrayEquals(new int[] {2, 3, d}, y.shapeRef(), name);
                return y;
            }, in -> embeddingReference(in[0], in[1], d), w, indices);
        }
    }

    @Test
    void embeddingGradientSumsRepeatedRows() {
        Generator gen = new Generator(72);
        Tensor w = GradCheck.param(gen, 6, 3);
        Tensor idx = Tensor.ofLongs(new long[] {1, 4, 1, 1});
        Tensor dy = Tensor.randn(gen, 4, 3);
        Indexing.embedding(w, idx).backward(dy);
        float[] g = w.grad().toFloatArray(), up = dy.toFloatArray();
        float[] expected = new float[18];
        for (int j = 0; j < 3; j++) {
            expected[1 * 3 + j] = up[j] + up[2 * 3 + j] + up[3 * 3 + j];
            expected[4 * 3 + j] = up[3 + j];
        }
        assertArrayEquals(expected, g, 1e-6f);
        // The backend kernel directly, with int32 indices shaped [2, 2].
        Tensor direct = Backends.cpu().embeddingBackward(dy.reshape(2, 2, 3), Tensor.ofInts(new int[] {1, 4, 1, 1}, 2, 2), 6);
        assertArrayEquals(new int[] {6, 3}, direct.shapeRef());
        assertArrayEquals(expected, direct.toFloatArray(), 1e-6f);
    }

    @Test
    void embeddingIndexOutOfRange() {
        Tensor w = Tensor.zeros(10, 4);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> Indexing.embedding(w, Tensor.ofLongs(new long[] {2, 10, 0})));
        assertTrue(e.getMessage().contains("10") && e.getMessage().contains("[0, 10)"), e.getMessage());
        e = assertThrows(IndexOutOfBoundsException.class, () -> Indexing.embedding(w, Tensor.ofInts(new int[] {-1})));
        assertTrue(e.getMessage().contains("-1") && e.getMessage().contains("[0, 10)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Indexing.embedding(w, Tensor.of(new float[] {1f})));
    }

    // ------------------------------------------------------------------ gather

    /** torch.gather of x (shape xs) along dim by idx (shape is): out[p] = x[p with p[dim] = idx[p]]. */
    private static double[] gatherReference(double[] x, int[] xs, int dim, double[] idx, int[] is) {
        double[] out = new double[idx.length];
        for (int i = 0; i < idx.length; i++) {
            int[] p = Ref.unravel(i, is);
            p[dim] = (int) idx[i];
            out[i] = x[Ref.ravel(p, xs)];
        }
        return out;
    }

    private static void checkGather(int[] xs, int dim, long[] idx, int[] is) {
        String name = "gather dim " + dim + " of " + java.util.Arrays.toString(xs);
        Generator gen = new Generator(name.hashCode());
        Tensor x = GradCheck.param(gen, xs), index = Tensor.ofLongs(idx, is);
        int d = dim < 0 ? dim + xs.length : dim;
        GradCheck.check(name, in -> {
            Tensor y = Indexing.gather(in[0], dim, in[1]);
            assertArrayEquals(is, y.shapeRef(), name);
            return y;
        }, in -> gatherReference(in[0], xs, d, in[1], is), x, index);
    }

    @Test
    void gatherDim0() {
        // Repeated indices in a column: their gradients add up (scatter-add).
        checkGather(new int[] {4, 5}, 0, new long[] {0, 1, 2, 3, 0, 3, 3, 3, 1, 0, 0, 0, 2, 2, 0}, new int[] {3, 5});
        // Index smaller than x in the other dim too.
        checkGather(new int[] {4, 5}, 0, new long[] {1, 1, 1, 3, 2, 0}, new int[] {2, 3});
    }

    @Test
    void gatherDim1() {
        checkGather(new int[] {3, 6}, 1, new long[] {5, 5, 0, 2, 1, 1, 1, 1, 4, 3, 0, 5}, new int[] {3, 4});
        checkGather(new int[] {2, 5, 3}, 1, new long[] {0, 4, 2, 4, 4, 1, 3, 0, 0, 2, 2, 2, 1, 1, 1, 0, 3, 4}, new int[] {2, 3, 3});
        checkGather(new int[] {2, 3, 4}, -1, new long[] {3, 0, 0, 1, 2, 2, 3, 3, 1, 0, 1, 2}, new int[] {2, 3, 2});
    }

    @Test
    void gatherGradientAccumulatesRepeats() {
        Tensor x = Tensor.of(new float[] {1f, 2f, 3f}, 3, 1).requiresGrad(true);
        Tensor idx = Tensor.ofInts(new int[] {0, 0, 2, 0}, 4, 1);
        Tensor y = Indexing.gather(x, 0, idx);
        assertArrayEquals(new float[] {1f, 1f, 3f, 1f}, y.toFloatArray());
        y.backward(Tensor.of(new float[] {1f, 2f, 10f, 4f}, 4, 1));
        assertArrayEquals(new float[] {7f, 0f, 10f}, x.grad().toFloatArray());
    }

    @Test
    void gatherIndexOutOfRange() {
        Tensor x = Tensor.zeros(3, 4);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> Indexing.gather(x, 1, Tensor.ofLongs(new long[] {0, 4}, 1, 2)));
        assertTrue(e.getMessage().contains("4") && e.getMessage().contains("[0, 4)"), e.getMessage());
    }

    // ------------------------------------------------------------------ dropout

    @Test
    void dropoutIdentityWhenNotTrainingOrZeroP() {
        Tensor x = Tensor.randn(new Generator(73), 4, 5);
        Generator gen = new Generator(1);
        assertSame(x, Indexing.dropout(x, 0.5f, false, gen));
        assertSame(x, Indexing.dropout(x, 0f, true, gen));
        assertArrayEquals(new long[] {1, 0}, gen.state(), "no random numbers drawn");
    }

    @Test
    void dropoutSameSeedSameMask() {
        Tensor x = Tensor.ones(1000);
        float[] a = Indexing.dropout(x, 0.3f, true, new Generator(5)).toFloatArray();
        float[] b = Indexing.dropout(x, 0.3f, true, new Generator(5)).toFloatArray();
        float[] c = Indexing.dropout(x, 0.3f, true, new Generator(6)).toFloatArray();
        assertArrayEquals(a, b);
        assertTrue(!java.util.Arrays.equals(a, c), "different seeds give different masks");
        // Successive draws from one generator differ.
        Generator g = new Generator(5);
        float[] first = Indexing.dropout(x, 0.3f, true, g).toFloatArray(), second = Indexing.dropout(x, 0.3f, true, g).toFloatArray();
        assertArrayEquals(a, first);
        assertTrue(!java.util.Arrays.equals(first, second));
    }

    @Test
    void dropoutStatisticsAndScaling() {
        int n = 100_000;
        for (float p : new float[] {0.1f, 0.3f, 0.5f}) {
            Tensor x = Tensor.randn(new Generator(74), n);
            float[] xv = x.toFloatArray();
            float[] y = Indexing.dropout(x, p, true, new Generator(75)).toFloatArray();
            int zeros = 0;
            for (int i = 0; i < n; i++) {
                if (y[i] == 0f) zeros++;
                else assertEquals(xv[i] / (1 - p), y[i], 1e-6 * Math.max(1, Math.abs(y[i])), "kept value at " + i);
            }
            // Binomial standard deviation sqrt(p(1-p)/n) <= 0.0016: allow about 6 of them.
            assertEquals(p, zeros / (double) n, 0.01, "fraction of zeros for p = " + p);
        }
    }

    @Test
    void dropoutGradientIsTheMask() {
        Tensor x = Tensor.ones(3, 7).requiresGrad(true);
        float p = 0.4f;
        Tensor y = Indexing.dropout(x, p, true, new Generator(76));
        y.sum().backward();
        float[] mask = y.toFloatArray(), g = x.grad().toFloatArray();
        assertArrayEquals(mask, g);
        for (float m : mask) assertTrue(m == 0f || Math.abs(m - 1 / (1 - p)) < 1e-6, "mask value " + m);
        // With a random upstream gradient: dx = dy · mask.
        Tensor x2 = Tensor.randn(new Generator(77), 3, 7).requiresGrad(true);
        Tensor y2 = Indexing.dropout(x2, p, true, new Generator(76));   // same seed: same mask
        Tensor dy = Tensor.randn(new Generator(78), 3, 7);
        y2.backward(dy);
        float[] dyv = dy.toFloatArray(), g2 = x2.grad().toFloatArray();
        for (int i = 0; i < g2.length; i++) assertEquals(dyv[i] * mask[i], g2[i], 1e-6, "gradient at " + i);
    }

    @Test
    void dropoutProbabilityRange() {
        Tensor x = Tensor.ones(4);
        assertThrows(IllegalArgumentException.class, () -> Indexing.dropout(x, 1.5f, true, new Generator(1)));
        assertThrows(IllegalArgumentException.class, () -> Indexing.dropout(x, -0.1f, true, new Generator(1)));
    }
}
