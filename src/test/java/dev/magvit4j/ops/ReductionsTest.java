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
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReductionsTest {

    enum Kind { SUM, MEAN, VAR_UNBIASED, VAR_BIASED, MAX, MIN }

    private static Tensor apply(Kind k, Tensor x, int[] dims, boolean keepDim) {
        return switch (k) {
            case SUM -> Reductions.sum(x, dims, keepDim);
            case MEAN -> Reductions.mean(x, dims, keepDim);
            case VAR_UNBIASED -> Reductions.var(x, dims, true, keepDim);
            case VAR_BIASED -> Reductions.var(x, dims, false, keepDim);
            case MAX -> Reductions.max(x, dims, keepDim);
            case MIN -> Reductions.min(x, dims, keepDim);
        };
    }

    /** Flags of the reduced dims; no dims means all. */
    private static boolean[] flags(int rank, int[] dims) {
        boolean[] r = new boolean[rank];
        if (dims.length == 0) Arrays.fill(r, true);
        for (int d : dims) r[d < 0 ? d + rank : d] = true;
        return r;
    }

    /** Expected output shape of a reduction (keepDim: reduced dims become 1, else removed). */
    private static int[] reducedShape(int[] shape, int[] dims, boolean keepDim) {
        boolean[] r = flags(shape.length, dims);
        int[] out = new int[shape.length];
        int k = 0;
        for (int d = 0; d < shape.length; d++) {
            if (!r[d]) out[k++] = shape[d];
            else if (keepDim) out[k++] = 1;
        }
        return Arrays.copyOf(out, k);
    }

    /** For each input element (row-major), the row-major position of its output in the keepDim layout. */
    private static int[] outputIndex(int[] shape, int[] dims) {
        boolean[] r = flags(shape.length, dims);
        int[] os = shape.clone();
        for (int d = 0; d < shape.length; d++) if (r[d]) os[d] = 1;
        int[] target = new int[Ref.numel(shape)];
        for (int i = 0; i < target.length; i++) {
            int[] idx = Ref.unravel(i, shape);
            for (int d = 0; d < shape.length; d++) if (r[d]) idx[d] = 0;
            target[i] = Ref.ravel(idx, os);
        }
        return target;
    }

    private static double[] reference(Kind k, double[] x, int[] shape, int[] dims) {
        return reference(k, x, outputIndex(shape, dims), Ref.numel(reducedShape(shape, dims, true)));
    }

    /**
     * Reference reduction in double, output in row-major order of the kept dims (which is the
     * same flat order with or without keepDim); target maps each input element to its output.
     * Variance is two-pass.
     */
    private static double[] reference(Kind k, double[] x, int[] target, int n) {
        double[] sum = new double[n], max = new double[n], min = new double[n], sq = new double[n];
        int[] count = new int[n];
        Arrays.fill(max, Double.NEGATIVE_INFINITY);
        Arrays.fill(min, Double.POSITIVE_INFINITY);
        for (int i = 0; i < x.length; i++) {
            int o = target[i];
            sum[o] += x[i];
            count[o]++;
            max[o] = Math.max(max[o], x[i]);
            min[o] = Math.min(min[o], x[i]);
        }
        for (int i = 0; i < x.length; i++) {
            double dev = x[i] - sum[target[i]] / count[target[i]];
            sq[target[i]] += dev * dev;
        }
        double[] out = new double[n];
        for (int o = 0; o < n; o++) {
            out[o] = switch (k) {
                case SUM -> sum[o];
                case MEAN -> sum[o] / count[o];
                case VAR_UNBIASED -> sq[o] / (count[o] - 1);
                case VAR_BIASED -> sq[o] / count[o];
                case MAX -> max[o];
                case MIN -> min[o];
            };
        }
        return out;
    }

    /** x (row-major, shape) permuted: result[i0..] = x at the source index order[...]. */
    private static double[] permute(double[] x, int[] shape, int[] order) {
        int[] ps = new int[shape.length];
        for (int i = 0; i < order.length; i++) ps[i] = shape[order[i]];
        double[] out = new double[x.length];
        for (int i = 0; i < out.length; i++) {
            int[] pi = Ref.unravel(i, ps), src = new int[shape.length];
            for (int d = 0; d < order.length; d++) src[order[d]] = pi[d];
            out[i] = x[Ref.ravel(src, shape)];
        }
        return out;
    }

    private static int[] permutedShape(int[] shape, int[] order) {
        int[] ps = new int[shape.length];
        for (int i = 0; i < order.length; i++) ps[i] = shape[order[i]];
        return ps;
    }

    /** Every kind, keepDim both ways, on x of the given shape reduced over dims (optionally through a permuted view). */
    private static void checkAll(int[] shape, int[] dims, int[] order) {
        int[] viewShape = order == null ? shape : permutedShape(shape, order);
        int[] target = outputIndex(viewShape, dims);
        int outputs = Ref.numel(reducedShape(viewShape, dims, true));
        int count = 1;
        for (int d = 0; d < viewShape.length; d++) if (flags(viewShape.length, dims)[d]) count *= viewShape[d];
        for (Kind k : Kind.values()) {
            if (k == Kind.VAR_UNBIASED && count < 2) continue; // undefined: see unbiasedVarianceOfOneElementRejected
            for (boolean keepDim : new boolean[] {false, true}) {
                String name = k + " of " + Shape.str(shape) + (order == null ? "" : " permuted " + Arrays.toString(order))
                        + " over " + Arrays.toString(dims) + (keepDim ? " keepDim" : "");
                Generator gen = new Generator(name.hashCode());
                Tensor x = GradCheck.param(gen, shape);
                int[] expectedShape = reducedShape(viewShape, dims, keepDim);
                GradCheck.check(name, in -> {
                    Tensor v = order == null ? in[0] : in[0].permute(order);
                    Tensor out = apply(k, v, dims, keepDim);
                    assertArrayEquals(expectedShape, out.shapeRef(), name + ": output shape " + Shape.str(out.shapeRef()));
                    return out;
                }, in -> reference(k, order == null ? in[0] : permute(in[0], shape, order), target, outputs), x);
            }
        }
    }

    @Test
    void allDims() {
        checkAll(new int[] {3, 5, 7}, new int[0], null);
        checkAll(new int[] {37}, new int[0], null);
        checkAll(new int[] {2, 3, 4, 5}, new int[] {0, 1, 2, 3}, null);
    }

    @Test
    void oneDim() {
        int[] shape = {4, 6, 5};
        for (int d : new int[] {0, 1, 2, -1, -3}) checkAll(shape, new int[] {d}, null);
        checkAll(new int[] {5, 33}, new int[] {1}, null);   // rows with a masked tail
        checkAll(new int[] {3, 1, 19}, new int[] {1}, null); // a size-1 reduced dim
    }

    @Test
    void nonAdjacentDims() {
        checkAll(new int[] {3, 4, 5}, new int[] {0, 2}, null);
        checkAll(new int[] {2, 3, 4, 5}, new int[] {1, 3}, null);
        checkAll(new int[] {2, 3, 4, 5}, new int[] {3, 0}, null);  // unsorted input order
        checkAll(new int[] {3, 2, 5, 7}, new int[] {0, 2, 3}, null);
    }

    @Test
    void adjacentBlockDims() {
        checkAll(new int[] {2, 3, 4, 5}, new int[] {1, 2}, null);
        checkAll(new int[] {2, 3, 4, 5}, new int[] {2, 3}, null);
        checkAll(new int[] {2, 3, 4, 5}, new int[] {0, 1}, null);
    }

    @Test
    void leadingDimsColumnPath() {
        checkAll(new int[] {300, 37}, new int[] {0}, null);      // more rows than one 256 block
        checkAll(new int[] {20, 300}, new int[] {0}, null);      // wide: columns split across threads
        checkAll(new int[] {2, 150, 37}, new int[] {0, 1}, null); // 300 reduced rows
        checkAll(new int[] {2, 17, 3, 9}, new int[] {1}, null);  // middle dim: outer 2, inner 27
    }

    @Test
    void stridedInputs() {
        int[] shape = {5, 7};
        int[] t = {1, 0};
        checkAll(shape, new int[] {0}, t);
        checkAll(shape, new int[] {1}, t);
        checkAll(shape, new int[0], t);
        int[] shape3 = {4, 3, 5};
        int[] p = {2, 0, 1};
        checkAll(shape3, new int[] {0, 2}, p);
        checkAll(shape3, new int[] {1}, p);
        checkAll(shape3, new int[] {1, 2}, p);
    }

    @Test
    void stridedSliceInput() {
        // Every other column of a [6, 10]: a view with a non-unit last stride.
        Generator gen = new Generator(21);
        Tensor x = GradCheck.param(gen, 6, 10);
        for (int d : new int[] {0, 1}) {
            GradCheck.check("sum of sliced over " + d, in -> in[0].slice(1, 1, 10, 2).sum(d), in -> {
                double[] v = new double[30];
                for (int i = 0; i < 6; i++) for (int j = 0; j < 5; j++) v[i * 5 + j] = in[0][i * 10 + 1 + 2 * j];
                return reference(Kind.SUM, v, new int[] {6, 5}, new int[] {d});
            }, x);
        }
    }

    @Test
    void extremumGradientSharedAmongTies() {
        Tensor x = Tensor.of(new float[] {1f, 3f, 3f, 2f, 0f, 0f}, 2, 3).requiresGrad(true);
        x.max().backward();
        assertArrayEquals(new float[] {0f, 0.5f, 0.5f, 0f, 0f, 0f}, x.grad().toFloatArray(), 1e-7f);
        x.zeroGrad();
        Reductions.min(x, new int[] {1}, false).sum().backward();
        assertArrayEquals(new float[] {1f, 0f, 0f, 0f, 0.5f, 0.5f}, x.grad().toFloatArray(), 1e-7f);
    }

    private static long[] argmaxReference(double[] x, int[] shape, int dim) {
        int[] os = shape.clone();
        os[dim] = 1;
        long[] out = new long[Ref.numel(os)];
        double[] best = new double[out.length];
        Arrays.fill(best, Double.NEGATIVE_INFINITY);
        Arrays.fill(out, -1);
        for (int i = 0; i < x.length; i++) {
            int[] idx = Ref.unravel(i, shape);
            int at = idx[dim];
            idx[dim] = 0;
            int o = Ref.ravel(idx, os);
            // Row-major order visits each output's candidates by increasing index, so
            // "strictly greater" keeps the first maximum.
            if (out[o] < 0 || x[i] > best[o]) {
                best[o] = x[i];
                out[o] = at;
            }
        }
        return out;
    }

    @Test
    void argmaxEachDimWithTies() {
        int[] shape = {3, 4, 5};
        // Values in {0, 1, 2}: many ties along every dim.
        Generator gen = new Generator(5);
        float[] v = new float[60];
        for (int i = 0; i < v.length; i++) v[i] = gen.nextInt(3);
        Tensor x = Tensor.of(v, shape);
        double[] xd = GradCheck.toDouble(x);
        for (int dim = 0; dim < 3; dim++) {
            for (boolean keepDim : new boolean[] {false, true}) {
                Tensor am = Reductions.argmax(x, dim, keepDim);
                assertEquals(DType.INT64, am.dtype());
                assertArrayEquals(reducedShape(shape, new int[] {dim}, keepDim), am.shapeRef());
                assertArrayEquals(argmaxReference(xd, shape, dim), am.toLongArray(), "argmax over dim " + dim);
            }
        }
        // Negative dim, through Tensor.argmax.
        assertArrayEquals(argmaxReference(xd, shape, 2), x.argmax(-1).toLongArray());
    }

    @Test
    void argmaxTiesFirstIndexWins() {
        Tensor x = Tensor.of(new float[] {5f, 5f, 1f, 5f, 2f, 7f, 7f, 7f}, 2, 4);
        assertArrayEquals(new long[] {0, 1}, x.argmax(1).toLongArray());
        assertArrayEquals(new long[] {0, 1, 1, 1}, x.argmax(0).toLongArray());
        assertArrayEquals(new long[] {0, 0, 0, 0}, Tensor.full(1f, 3, 4).argmax(0).toLongArray());
        Tensor allSame = Tensor.full(3f, 33);
        assertEquals(0L, allSame.argmax(0).toLongArray()[0]);
        assertEquals(0, allSame.argmax(0).dim());
    }

    @Test
    void argmaxOfStridedInput() {
        Generator gen = new Generator(8);
        Tensor base = Tensor.randn(gen, 6, 17);
        Tensor x = base.transpose(0, 1);  // [17, 6]
        double[] xd = GradCheck.toDouble(x);
        for (int dim = 0; dim < 2; dim++) {
            assertArrayEquals(argmaxReference(xd, new int[] {17, 6}, dim), x.argmax(dim).toLongArray(), "dim " + dim);
        }
    }

    @Test
    void repeatedDimsRejected() {
        Tensor x = Tensor.zeros(2, 3, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.sum(1, 1));
        assertTrue(e.getMessage().contains("repeated"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> x.mean(0, -3));
        assertThrows(IllegalArgumentException.class, () -> x.max(2, -1));
        assertThrows(IllegalArgumentException.class, () -> x.var(false, 1, 1));
    }

    @Test
    void outOfRangeDimsRejected() {
        Tensor x = Tensor.zeros(2, 3, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.sum(3));
        assertTrue(e.getMessage().contains("3") && e.getMessage().contains("rank 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> x.mean(-4));
        assertThrows(IllegalArgumentException.class, () -> x.min(0, 5));
        assertThrows(IllegalArgumentException.class, () -> x.var(true, 7));
        assertThrows(IllegalArgumentException.class, () -> x.argmax(3));
        assertThrows(IllegalArgumentException.class, () -> x.argmax(-4));
    }

    @Test
    void unbiasedVarianceOfOneElementRejected() {
        Tensor one = Tensor.of(new float[] {2f});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> one.var(true));
        assertTrue(e.getMessage().contains("undefined"), e.getMessage());
        Tensor col = Tensor.zeros(4, 1);
        assertThrows(IllegalArgumentException.class, () -> col.var(true, 1));
        // Biased variance of one element is fine: zero.
        assertEquals(0f, one.var(false).item());
        assertArrayEquals(new float[] {0f, 0f, 0f, 0f}, col.var(false, 1).toFloatArray());
    }
}
