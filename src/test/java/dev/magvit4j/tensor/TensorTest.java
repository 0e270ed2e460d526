package dev.magvit4j.tensor;

import dev.magvit4j.ops.Views;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorTest {

    private static Tensor iota(int... shape) {
        int n = Shape.numel(shape);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = i;
        return Tensor.of(d, shape);
    }

    @Test
    void factoriesAndGeometry() {
        Tensor t = iota(2, 3, 4);
        assertArrayEquals(new int[] {2, 3, 4}, t.shape());
        assertArrayEquals(new int[] {12, 4, 1}, t.strides());
        assertEquals(24, t.numel());
        assertEquals(3, t.dim());
        assertEquals(4, t.size(-1));
        assertTrue(t.isContiguous());
        assertEquals(23f, t.get(1, 2, 3));
        assertEquals(DType.FLOAT32, t.dtype());
        assertEquals(Device.CPU, t.device());
        assertEquals(7f, Tensor.full(7f, 2, 2).get(1, 1));
        assertEquals(0L, Tensor.zeros(DType.INT64, 3).toLongArray()[2]);
        assertArrayEquals(new long[] {4, 5}, Tensor.ofLongs(new long[] {4, 5}).toLongArray());
        assertEquals(3.5f, Tensor.scalar(3.5f).item());
        assertEquals(0, Tensor.scalar(1f).dim());
    }

    @Test
    void wrongDataLengthIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
    }

    @Test
    void reshapeOfContiguousIsAView() {
        Tensor t = iota(2, 6);
        Tensor r = t.reshape(3, -1);
        assertArrayEquals(new int[] {3, 4}, r.shape());
        assertSame(t.storage(), r.storage());
        assertEquals(11f, r.get(2, 3));
        assertThrows(IllegalArgumentException.class, () -> t.reshape(5, -1));
    }

    @Test
    void reshapeOfTransposeCopiesOnlyWhenItMust() {
        Tensor t = iota(2, 3, 4).transpose(0, 1); // [3, 2, 4], strides [4, 12, 1]
        Tensor split = t.reshape(3, 2, 2, 2);      // splits the contiguous last dim: a view
        assertSame(t.storage(), split.storage());
        Tensor merged = t.reshape(6, 4);           // merges non-adjacent memory: a copy
        assertFalse(t.storage() == merged.storage());
        assertEquals(t.get(1, 1, 2), merged.get(3, 2));
        assertThrows(IllegalArgumentException.class, () -> t.view(6, 4));
    }

    @Test
    void permuteTransposeAndContiguous() {
        Tensor t = iota(2, 3, 4);
        Tensor p = t.permute(2, 0, 1);
        assertArrayEquals(new int[] {4, 2, 3}, p.shape());
        assertFalse(p.isContiguous());
        assertEquals(t.get(1, 2, 3), p.get(3, 1, 2));
        Tensor c = p.contiguous();
        assertTrue(c.isContiguous());
        assertEquals(t.get(0, 1, 2), c.get(2, 0, 1));
        assertSame(c, c.contiguous());
        assertEquals(t.get(1, 0, 3), t.mT().get(1, 3, 0));
        assertThrows(IllegalArgumentException.class, () -> t.permute(0, 0, 1));
    }

    @Test
    void sliceSelectAndStep() {
        Tensor t = iota(4, 5);
        Tensor s = t.slice(1, 1, 5, 2);        // columns 1 and 3
        assertArrayEquals(new int[] {4, 2}, s.shape());
        assertEquals(13f, s.get(2, 1));
        Tensor neg = t.slice(0, -2, 100);       // last two rows, end clamped
        assertArrayEquals(new int[] {2, 5}, neg.shape());
        assertEquals(15f, neg.get(1, 0));
        Tensor row = t.select(0, -1);
        assertArrayEquals(new int[] {5}, row.shape());
        assertEquals(19f, row.get(4));
        assertThrows(IndexOutOfBoundsException.class, () -> t.select(1, 5));
        assertEquals(0, t.slice(0, 3, 1).size(0));
    }

    @Test
    void expandUnsqueezeSqueeze() {
        Tensor t = iota(3, 1);
        Tensor e = t.expand(2, 3, 4);
        assertArrayEquals(new int[] {0, 1, 0}, e.strides());
        assertEquals(2f, e.get(1, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> t.expand(4, 4));
        assertArrayEquals(new int[] {3, 1, 1}, t.unsqueeze(-1).shape());
        assertArrayEquals(new int[] {1, 3, 1}, t.unsqueeze(0).shape());
        assertArrayEquals(new int[] {3}, t.squeeze(1).shape());
        assertArrayEquals(new int[] {3, 1}, t.squeeze(0).shape());
    }

    @Test
    void viewGradientsFlowBack() {
        Generator gen = new Generator(5);
        Tensor x = Tensor.randn(gen, 2, 3, 4).requiresGrad(true);
        GradCheck.check("views", in -> in[0].permute(2, 0, 1).slice(0, 1, 4, 2).reshape(2, 6).select(1, 4).unsqueeze(1).expand(2, 3), in -> {
            double[] y = new double[6];
            // permute(2,0,1)[k, a, b] = x[a, b, k]; slice k in {1, 3}; reshape (2, 6): row = k index, col = a*3 + b; col 4 -> a=1, b=1
            for (int r = 0; r < 2; r++) for (int c = 0; c < 3; c++) y[r * 3 + c] = in[0][(1 * 3 + 1) * 4 + (1 + 2 * r)];
            return y;
        }, x);
    }

    @Test
    void concatStackSplit() {
        Generator gen = new Generator(6);
        Tensor a = Tensor.randn(gen, 2, 3).requiresGrad(true), b = Tensor.randn(gen, 2, 2).requiresGrad(true);
        GradCheck.check("concat", in -> Views.concat(List.of(in[0], in[1]), 1), in -> {
            double[] y = new double[10];
            for (int r = 0; r < 2; r++) {
                for (int c = 0; c < 3; c++) y[r * 5 + c] = in[0][r * 3 + c];
                for (int c = 0; c < 2; c++) y[r * 5 + 3 + c] = in[1][r * 2 + c];
            }
            return y;
        }, a, b);
        Tensor c = Tensor.randn(gen, 2, 3).requiresGrad(true);
        GradCheck.check("stack", in -> Views.stack(List.of(in[0], in[1]), 1), in -> {
            double[] y = new double[12];
            for (int r = 0; r < 2; r++) for (int k = 0; k < 2; k++) for (int j = 0; j < 3; j++) y[(r * 2 + k) * 3 + j] = in[k][r * 3 + j];
            return y;
        }, a, c);
        List<Tensor> parts = Views.split(iota(2, 5), 1, 2, 3);
        assertArrayEquals(new int[] {2, 3}, parts.get(1).shape());
        assertEquals(7f, parts.get(1).get(1, 0));
        assertThrows(IllegalArgumentException.class, () -> Views.split(iota(2, 5), 1, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> Views.concat(List.of(iota(2, 3), iota(3, 3)), 1));
    }

    @Test
    void toStringIsReadable() {
        String s = iota(2, 3).toString();
        assertTrue(s.startsWith("Tensor[2, 3] float32"), s);
        assertTrue(s.contains("[[0.0000, 1.0000, 2.0000],"), s);
        String big = iota(100).toString();
        assertTrue(big.contains("..."), big);
        assertTrue(Tensor.ofLongs(new long[] {7, 8}).toString().contains("[7, 8]"));
    }

    @Test
    void deviceParsing() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.cuda(1), Device.parse("cuda:1"));
        assertEquals("cuda:0", Device.parse("cuda").toString());
        assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
    }

    @Test
    void generatorIsCounterBased() {
        Generator a = new Generator(42), b = new Generator(42);
        Tensor x = Tensor.randn(a, 1000);
        Tensor y = Tensor.randn(b, 1000);
        assertArrayEquals(x.toFloatArray(), y.toFloatArray());
        Tensor z = Tensor.randn(a, 1000);
        assertFalse(java.util.Arrays.equals(x.toFloatArray(), z.toFloatArray()));
        float[] v = Tensor.randn(new Generator(1), 100_000).toFloatArray();
        double mean = 0, sq = 0;
        for (float f : v) {
            mean += f;
            sq += f * f;
        }
        mean /= v.length;
        assertEquals(0, mean, 0.02);
        assertEquals(1, sq / v.length - mean * mean, 0.02);
        long[] state = a.state();
        Tensor r1 = Tensor.rand(a, 10);
        a.setState(state);
        assertArrayEquals(r1.toFloatArray(), Tensor.rand(a, 10).toFloatArray());
    }
}
