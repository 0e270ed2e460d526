package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.Backend.Distribution;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

/** Strided copies (with dtype conversion), fills and random fills. */
final class CpuCopy {

    private CpuCopy() {}

    private static final int GRAIN = 1 << 15;

    static void copy(Tensor src, Tensor dst) {
        if (!Arrays.equals(src.shapeRef(), dst.shapeRef())) {
            throw new IllegalArgumentException("copy from shape " + Shape.str(src.shapeRef()) + " into shape " + Shape.str(dst.shapeRef()));
        }
        if (dst.numel() == 0) return;
        CpuStorage s = (CpuStorage) src.storage(), d = (CpuStorage) dst.storage();
        Strided g = Strided.of(dst.shapeRef(), new int[][] {src.stridesRef(), dst.stridesRef()}, new int[] {src.offset(), dst.offset()});
        int inner = g.inner(), ss = g.innerStride(0), ds = g.innerStride(1);
        boolean same = s.dtype() == d.dtype();
        Parallel.forRange(g.rows(), Math.max(1, GRAIN / Math.max(inner, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int so = g.rowOffset(0, r), o = g.rowOffset(1, r);
                if (same && ss == 1 && ds == 1) {
                    System.arraycopy(s.array(), so, d.array(), o, inner);
                } else if (same && s.dtype() == DType.FLOAT32) {
                    float[] a = s.floats(), b = d.floats();
                    for (int i = 0; i < inner; i++) b[o + i * ds] = a[so + i * ss];
                } else if (d.dtype() == DType.FLOAT32) {
                    float[] b = d.floats();
                    for (int i = 0; i < inner; i++) b[o + i * ds] = (float) s.getDouble(so + i * ss);
                } else if (s.dtype() == DType.FLOAT32) {  // as PyTorch: to integers truncated, to bool v != 0 (0.3 is true)
                    for (int i = 0; i < inner; i++) d.setDouble(o + i * ds, s.getDouble(so + i * ss));
                } else {
                    for (int i = 0; i < inner; i++) d.setLong(o + i * ds, s.getLong(so + i * ss));
                }
            }
        });
    }

    static void fill(Tensor dst, double value) {
        if (dst.numel() == 0) return;
        CpuStorage d = (CpuStorage) dst.storage();
        Strided g = Strided.of(dst.shapeRef(), new int[][] {dst.stridesRef()}, new int[] {dst.offset()});
        int inner = g.inner(), ds = g.innerStride(0);
        Parallel.forRange(g.rows(), Math.max(1, GRAIN / Math.max(inner, 1)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = g.rowOffset(0, r);
                if (ds == 1) {
                    switch (d.dtype()) {
                        case FLOAT32 -> Arrays.fill(d.floats(), o, o + inner, (float) value);
                        case INT64 -> Arrays.fill(d.longs(), o, o + inner, (long) value);
                        case INT32 -> Arrays.fill(d.ints(), o, o + inner, (int) value);
                        case BOOL -> Arrays.fill(d.bytes(), o, o + inner, (byte) (value != 0 ? 1 : 0));
                    }
                } else {
                    for (int i = 0; i < inner; i++) d.setDouble(o + i * ds, value);
                }
            }
        });
    }

    /** Element i of the (row-major) tensor gets the counter-based sample i of this draw. */
    static void fillRandom(Tensor dst, Distribution dist, double a, double b, Generator gen) {
        if (dst.dtype() != DType.FLOAT32 || !dst.isContiguous()) {
            throw new IllegalArgumentException("random fill needs a contiguous float32 tensor");
        }
        float[] out = ((CpuStorage) dst.storage()).floats();
        int off = dst.offset(), n = dst.numel();
        long seed = gen.seed();
        long start = gen.advance(dist == Distribution.NORMAL ? 2L * n : n);
        Parallel.forRange(n, GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                out[off + i] = switch (dist) {
                    case UNIFORM -> (float) (a + (b - a) * Generator.uniform(seed, start + i));
                    case NORMAL -> (float) (a + b * Generator.normal(seed, start + 2L * i));
                };
            }
        });
    }
}
