package dev.magvit4j.ops;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.testing.Ref;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MatmulTest {

    /** Row-major transpose of a [rows, cols] matrix. */
    private static double[] transpose(double[] x, int rows, int cols) {
        double[] t = new double[x.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }

    /** Transposes the last two dims of a stack of [rows, cols] matrices. */
    private static double[] transposeBatch(double[] x, int batch, int rows, int cols) {
        double[] t = new double[x.length];
        int mat = rows * cols;
        for (int z = 0; z < batch; z++) {
            double[] one = transpose(Arrays.copyOfRange(x, z * mat, (z + 1) * mat), rows, cols);
            System.arraycopy(one, 0, t, z * mat, mat);
        }
        return t;
    }

    /** a [..., M, K] @ b [..., K, N] with the batch dims broadcast, in double. */
    private static double[] batchedReference(double[] a, int[] as, double[] b, int[] bs) {
        int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        int[] ab = Arrays.copyOf(as, as.length - 2), bb = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Ref.broadcastShape(ab, bb);
        int count = Ref.numel(batch);
        double[] out = new double[count * m * n];
        for (int z = 0; z < count; z++) {
            int[] idx = Ref.unravel(z, batch);
            int ao = batchOffset(ab, idx) * m * k, bo = batchOffset(bb, idx) * k * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += a[ao + i * k + p] * b[bo + p * n + j];
                    out[(z * m + i) * n + j] = s;
                }
        }
        return out;
    }

    /** Index of the matrix of a stack with batch shape bs at a broadcast batch index. */
    private static int batchOffset(int[] bs, int[] idx) {
        int o = 0, lead = idx.length - bs.length;
        for (int d = 0; d < bs.length; d++) o = o * bs[d] + (bs[d] == 1 ? 0 : idx[lead + d]);
        return o;
    }

    private static void check(int m, int k, int n) {
        String name = "matmul " + m + "x" + k + "x" + n;
        Generator gen = new Generator(name.hashCode());
        Tensor a = GradCheck.param(gen, m, k), b = GradCheck.param(gen, k, n);
        GradCheck.check(name, in -> {
            Tensor c = in[0].matmul(in[1]);
            assertArrayEquals(new int[] {m, n}, c.shapeRef(), name);
            return c;
        }, in -> Ref.matmul(in[0], in[1], 1, m, k, n), a, b);
    }

    @Test
    void edgeTilesOfTheKernel() {
        int[] sizes = {1, 7, 8, 9, 31, 32, 33};
        // Every M and N from the list around the 8-row / 32-column tile edges, with small odd and even K.
        for (int m : sizes) for (int n : sizes) check(m, m % 2 == 0 ? 9 : 8, n);
        for (int k : sizes) check(9, k, 33);
    }

    @Test
    void largerSizes() {
        check(100, 7, 100);
        check(257, 9, 8);
        check(8, 33, 257);
        check(1, 257, 9);
        check(33, 100, 31);
        check(130, 300, 70);   // two K blocks (KC 256), two M blocks (MC 128)
    }

    @Test
    void forwardOnlyCube() {
        // 257^3: the edge tiles in every direction, forward only (the reference is O(n^3)).
        Generator gen = new Generator(257);
        Tensor a = Tensor.randn(gen, 257, 257), b = Tensor.randn(gen, 257, 257);
        GradCheck.check("matmul 257^3", in -> in[0].matmul(in[1]), in -> Ref.matmul(in[0], in[1], 1, 257, 257, 257), a, b);
    }

    @Test
    void emptyInnerDimension() {
        Tensor a = Tensor.empty(DType.FLOAT32, 3, 0), b = Tensor.empty(DType.FLOAT32, 0, 4);
        Tensor c = a.matmul(b);
        assertArrayEquals(new int[] {3, 4}, c.shapeRef());
        assertArrayEquals(new float[12], c.toFloatArray());
    }

    @Test
    void emptyInnerDimensionGradient() {
        Tensor a = Tensor.empty(DType.FLOAT32, 3, 0).requiresGrad(true), b = Tensor.empty(DType.FLOAT32, 0, 4).requiresGrad(true);
        GradCheck.check("matmul K=0", in -> in[0].matmul(in[1]), in -> new double[12], a, b);
    }

    @Test
    void transposedViews() {
        int m = 9, k = 33, n = 7;
        Generator gen = new Generator(11);
        Tensor at = GradCheck.param(gen, k, m);   // a = at.mT()
        Tensor bt = GradCheck.param(gen, n, k);   // b = bt.mT()
        Tensor a = GradCheck.param(gen, m, k), b = GradCheck.param(gen, k, n);
        GradCheck.check("aT @ b", in -> in[0].mT().matmul(in[1]),
                in -> Ref.matmul(transpose(in[0], k, m), in[1], 1, m, k, n), at, b);
        GradCheck.check("a @ bT", in -> in[0].matmul(in[1].mT()),
                in -> Ref.matmul(in[0], transpose(in[1], n, k), 1, m, k, n), a, bt);
        GradCheck.check("aT @ bT", in -> in[0].mT().matmul(in[1].mT()),
                in -> Ref.matmul(transpose(in[0], k, m), transpose(in[1], n, k), 1, m, k, n), at, bt);
    }

    @Test
    void batchedTransposedViews() {
        // Batched transposed views, sizes across tile edges.
        Generator gen = new Generator(16);
        Tensor a3 = GradCheck.param(gen, 2, 33, 9), b3 = GradCheck.param(gen, 2, 40, 33);
        GradCheck.check("batched aT @ bT", in -> in[0].mT().matmul(in[1].mT()),
                in -> Ref.matmul(transposeBatch(in[0], 2, 33, 9), transposeBatch(in[1], 2, 40, 33), 2, 9, 33, 40), a3, b3);
    }

    @Test
    void nonUnitStrideOperand() {
        // Every other column: neither last-two-dims stride is 1, which needs a copy.
        Generator gen = new Generator(12);
        Tensor a = GradCheck.param(gen, 5, 14), b = GradCheck.param(gen, 7, 6);
        GradCheck.check("sliced a @ b", in -> in[0].slice(1, 0, 14, 2).matmul(in[1]), in -> {
            double[] s = new double[35];
            for (int i = 0; i < 5; i++) for (int j = 0; j < 7; j++) s[i * 7 + j] = in[0][i * 14 + 2 * j];
            return Ref.matmul(s, in[1], 1, 5, 7, 6);
        }, a, b);
    }

    private static void checkBatched(int[] as, int[] bs, int[] expected) {
        String name = "matmul " + Shape.str(as) + " @ " + Shape.str(bs);
        Generator gen = new Generator(name.hashCode());
        Tensor a = GradCheck.param(gen, as), b = GradCheck.param(gen, bs);
        GradCheck.check(name, in -> {
            Tensor c = in[0].matmul(in[1]);
            assertArrayEquals(expected, c.shapeRef(), name);
            return c;
        }, in -> batchedReference(in[0], as, in[1], bs), a, b);
    }

    @Test
    void batchedWithBroadcasting() {
        checkBatched(new int[] {2, 3, 5, 7}, new int[] {7, 9}, new int[] {2, 3, 5, 9});
        checkBatched(new int[] {2, 1, 9, 4}, new int[] {1, 4, 4, 33}, new int[] {2, 4, 9, 33});
        checkBatched(new int[] {3, 8, 5}, new int[] {3, 5, 31}, new int[] {3, 8, 31});
        checkBatched(new int[] {6, 5}, new int[] {2, 5, 3}, new int[] {2, 6, 3});
        checkBatched(new int[] {4, 1, 3, 2}, new int[] {5, 2, 7}, new int[] {4, 5, 3, 7});
    }

    @Test
    void vectorOperands() {
        Generator gen = new Generator(13);
        Tensor v = GradCheck.param(gen, 7), m = GradCheck.param(gen, 7, 9), m2 = GradCheck.param(gen, 5, 7);
        GradCheck.check("vector @ matrix", in -> {
            Tensor c = in[0].matmul(in[1]);
            assertArrayEquals(new int[] {9}, c.shapeRef());
            return c;
        }, in -> Ref.matmul(in[0], in[1], 1, 1, 7, 9), v, m);
        GradCheck.check("matrix @ vector", in -> {
            Tensor c = in[0].matmul(in[1]);
            assertArrayEquals(new int[] {5}, c.shapeRef());
            return c;
        }, in -> Ref.matmul(in[0], in[1], 1, 5, 7, 1), m2, v);
    }

    @Test
    void batchedMatrixAtVector() {
        Generator gen = new Generator(17);
        Tensor v = GradCheck.param(gen, 7), batch = GradCheck.param(gen, 2, 5, 7);
        GradCheck.check("batch @ vector", in -> {
            Tensor c = in[0].matmul(in[1]);
            assertArrayEquals(new int[] {2, 5}, c.shapeRef());
            return c;
        }, in -> Ref.matmul(in[0], concat(in[1], in[1]), 2, 5, 7, 1), batch, v);
    }

    @Test
    void vectorDotVector() {
        // PyTorch: both operands 1-D give the dot product, a 0-dimensional tensor.
        Generator gen = new Generator(14);
        Tensor a = GradCheck.param(gen, 7), b = GradCheck.param(gen, 7);
        GradCheck.check("vector @ vector", in -> {
            Tensor c = in[0].matmul(in[1]);
            assertArrayEquals(new int[0], c.shapeRef());
            return c;
        }, in -> Ref.matmul(in[0], in[1], 1, 1, 7, 1), a, b);
    }

    private static double[] concat(double[] a, double[] b) {
        double[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** x [rows, in] · w [out, in]ᵀ + bias. */
    private static double[] linearReference(double[] x, double[] w, double[] bias, int rows, int in, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * w[o * in + i];
                y[r * out + o] = s;
            }
        return y;
    }

    /** Few rows (token-by-token decoding) take the weight-streaming path; every tail of it against the reference. */
    @Test
    void linearWithFewRows() {
        Generator gen = new Generator(21);
        for (int rows : new int[] {1, 2, 3, 4, 5, 8, 13, 32}) {
            for (int[] io : new int[][] {{64, 12}, {48, 7}, {37, 9}, {16, 1}, {5, 4}}) {
                int in = io[0], out = io[1];
                double[] x = randoms(gen, rows * in), w = randoms(gen, out * in), b = randoms(gen, out);
                Tensor y = LinearAlgebra.linear(Tensor.of(floats(x), rows, in), Tensor.of(floats(w), out, in), Tensor.of(floats(b), out));
                GradCheck.assertClose("linear " + rows + "x" + in + " -> " + out, linearReference(x, w, b, rows, in, out), toDoubles(y.toFloatArray()), 1e-5);
            }
        }
    }

    /** A row's result does not depend on the rows it is batched with (what makes a sampled batch reproduce sample by sample). */
    @Test
    void fewRowLinearIsIndependentOfTheOtherRows() {
        Generator gen = new Generator(22);
        Tensor w = Tensor.randn(gen, 70, 96), x = Tensor.randn(gen, 13, 96);
        Tensor all = LinearAlgebra.linear(x, w, null);
        for (int i = 0; i < 13; i++) {
            assertArrayEquals(all.select(0, i).contiguous().toFloatArray(), LinearAlgebra.linear(x.slice(0, i, i + 1).contiguous(), w, null).toFloatArray(), "row " + i);
        }
    }

    private static double[] randoms(Generator g, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = g.nextFloat() * 2 - 1;
        return v;
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void linearWithAndWithoutBias() {
        Generator gen = new Generator(15);
        int b = 2, t = 5, in = 9, out = 33;
        Tensor x = GradCheck.param(gen, b, t, in), w = GradCheck.param(gen, out, in), bias = GradCheck.param(gen, out);
        GradCheck.check("linear 3-D with bias", inp -> {
            Tensor y = LinearAlgebra.linear(inp[0], inp[1], inp[2]);
            assertArrayEquals(new int[] {b, t, out}, y.shapeRef());
            return y;
        }, inp -> linearReference(inp[0], inp[1], inp[2], b * t, in, out), x, w, bias);
        GradCheck.check("linear 3-D without bias", inp -> LinearAlgebra.linear(inp[0], inp[1], null),
                inp -> linearReference(inp[0], inp[1], null, b * t, in, out), x, w);
        Tensor x2 = GradCheck.param(gen, 7, 31), w2 = GradCheck.param(gen, 8, 31), bias2 = GradCheck.param(gen, 8);
        GradCheck.check("linear 2-D with bias", inp -> LinearAlgebra.linear(inp[0], inp[1], inp[2]),
                inp -> linearReference(inp[0], inp[1], inp[2], 7, 31, 8), x2, w2, bias2);
        // A transposed (non-contiguous) input.
        Tensor xt = GradCheck.param(gen, 31, 7);
        GradCheck.check("linear of transposed input", inp -> LinearAlgebra.linear(inp[0].mT(), inp[1], inp[2]),
                inp -> linearReference(transpose(inp[0], 31, 7), inp[1], inp[2], 7, 31, 8), xt, w2, bias2);
    }

    @Test
    void innerDimensionMismatchNamesShapes() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.matmul(b));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 5]"), e.getMessage());
        Tensor a3 = Tensor.zeros(2, 6, 3), b3 = Tensor.zeros(2, 4, 5);
        e = assertThrows(IllegalArgumentException.class, () -> a3.matmul(b3));
        assertTrue(e.getMessage().contains("[2, 6, 3]") && e.getMessage().contains("[2, 4, 5]"), e.getMessage());
        Tensor x = Tensor.zeros(2, 5, 7), w = Tensor.zeros(3, 6);
        e = assertThrows(IllegalArgumentException.class, () -> LinearAlgebra.linear(x, w, null));
        assertTrue(e.getMessage().contains("[2, 5, 7]") && e.getMessage().contains("[3, 6]"), e.getMessage());
    }

    @Test
    void batchMismatchNamesShapes() {
        Tensor a = Tensor.zeros(2, 3, 4), b = Tensor.zeros(3, 4, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.matmul(b));
        assertTrue(e.getMessage().contains("[2]") && e.getMessage().contains("[3]"), e.getMessage());
    }
}
