package dev.magvit4j.io;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Element encodings of stored tensors (little-endian) and their conversion into CPU tensors,
 * read straight from a (mapped) segment into the tensor's array: float16, bfloat16 and float64
 * become float32; int16, int8 and uint8 become int32.
 */
enum Elements {
    F32(4, DType.FLOAT32, "float32"),
    F16(2, DType.FLOAT32, "float16"),
    BF16(2, DType.FLOAT32, "bfloat16"),
    F64(8, DType.FLOAT32, "float64"),
    I64(8, DType.INT64, "int64"),
    I32(4, DType.INT32, "int32"),
    I16(2, DType.INT32, "int16"),
    I8(1, DType.INT32, "int8"),
    U8(1, DType.INT32, "uint8"),
    BOOL(1, DType.BOOL, "bool");

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = Zip.LE_SHORT;
    private static final ValueLayout.OfInt LE_INT = Zip.LE_INT;
    private static final ValueLayout.OfLong LE_LONG = Zip.LE_LONG;

    /** Bytes per stored element. */
    final int size;
    /** The dtype of the tensor it becomes. */
    final DType target;
    final String pyName;

    Elements(int size, DType target, String pyName) {
        this.size = size;
        this.target = target;
        this.pyName = pyName;
    }

    /**
     * Element count of a shape, or -1 when it exceeds what a tensor can hold (2^31-1) or a
     * dimension is negative.
     */
    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0 || d > Integer.MAX_VALUE) return -1;
            n *= d; // both factors <= 2^31-1: no overflow
            if (n > Integer.MAX_VALUE) return -1;
        }
        return n;
    }

    /**
     * The highest element index a strided view addresses (offset + sum (size-1)*stride), -1 for
     * an empty view, or Long.MAX_VALUE when it overflows. Strides must be non-negative.
     */
    static long lastElement(long[] shape, long[] strides, long offset) {
        try {
            long last = offset;
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] == 0) return -1;
                last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
            }
            return last;
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Materialises a strided view as a contiguous tensor. Element 0 of the storage is at byte
     * {@code base} of {@code seg}; strides and offset count elements. The caller has checked
     * that every addressed element lies inside the segment (this method re-checks and throws
     * IllegalArgumentException otherwise).
     */
    Tensor read(MemorySegment seg, long base, int[] shape, long[] strides, long offset) {
        long[] lshape = new long[shape.length];
        for (int i = 0; i < shape.length; i++) lshape[i] = shape[i];
        long n = numel(lshape);
        if (n < 0) throw new IllegalArgumentException("shape too large");
        long last = lastElement(lshape, strides, offset);
        if (n > 0 && (base < 0 || base > seg.byteSize() || last >= (seg.byteSize() - base) / size)) {
            throw new IllegalArgumentException("view addresses bytes past the end of its data");
        }
        Object array = switch (target) {
            case FLOAT32 -> new float[(int) n];
            case INT64 -> new long[(int) n];
            case INT32 -> new int[(int) n];
            case BOOL -> new byte[(int) n];
        };
        if (n > 0) {
            // Drop size-1 dimensions and merge dimensions that are contiguous with their inner neighbour.
            long[] sz = new long[Math.max(1, shape.length)], st = new long[Math.max(1, shape.length)];
            int r = 0;
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] == 1) continue;
                if (r > 0 && st[r - 1] == saturatedProduct(strides[i], shape[i])) {
                    sz[r - 1] *= shape[i];
                    st[r - 1] = strides[i];
                } else {
                    sz[r] = shape[i];
                    st[r] = strides[i];
                    r++;
                }
            }
            if (r == 0) {
                sz[0] = 1;
                st[0] = 1;
                r = 1;
            }
            int inner = (int) sz[r - 1];
            long innerStep = st[r - 1] * size;
            long[] idx = new long[r - 1];
            long src = base + offset * size;
            for (int dst = 0; dst < n; dst += inner) {
                copyRun(seg, src, innerStep, inner, array, dst);
                // odometer over the outer dimensions
                for (int d = r - 2; d >= 0; d--) {
                    idx[d]++;
                    src += st[d] * size;
                    if (idx[d] < sz[d]) break;
                    src -= st[d] * size * sz[d];
                    idx[d] = 0;
                }
            }
        }
        return Backends.cpu().wrap(array, shape);
    }

    private static long saturatedProduct(long a, long b) {
        long hi = Math.multiplyHigh(a, b), lo = a * b;
        return (hi == 0 && lo >= 0) ? lo : -1;
    }

    private void copyRun(MemorySegment seg, long src, long step, int count, Object array, int dst) {
        switch (this) {
            case F32 -> {
                float[] a = (float[]) array;
                if (step == 4) MemorySegment.copy(seg, LE_FLOAT, src, a, dst, count);
                else for (int i = 0; i < count; i++) a[dst + i] = seg.get(LE_FLOAT, src + i * step);
            }
            case F16 -> {
                float[] a = (float[]) array;
                for (int i = 0; i < count; i++) a[dst + i] = Float.float16ToFloat(seg.get(LE_SHORT, src + i * step));
            }
            case BF16 -> {
                float[] a = (float[]) array;
                for (int i = 0; i < count; i++) a[dst + i] = Float.intBitsToFloat((seg.get(LE_SHORT, src + i * step) & 0xffff) << 16);
            }
            case F64 -> {
                float[] a = (float[]) array;
                for (int i = 0; i < count; i++) a[dst + i] = (float) seg.get(LE_DOUBLE, src + i * step);
            }
            case I64 -> {
                long[] a = (long[]) array;
                if (step == 8) MemorySegment.copy(seg, LE_LONG, src, a, dst, count);
                else for (int i = 0; i < count; i++) a[dst + i] = seg.get(LE_LONG, src + i * step);
            }
            case I32 -> {
                int[] a = (int[]) array;
                if (step == 4) MemorySegment.copy(seg, LE_INT, src, a, dst, count);
                else for (int i = 0; i < count; i++) a[dst + i] = seg.get(LE_INT, src + i * step);
            }
            case I16 -> {
                int[] a = (int[]) array;
                for (int i = 0; i < count; i++) a[dst + i] = seg.get(LE_SHORT, src + i * step);
            }
            case I8 -> {
                int[] a = (int[]) array;
                for (int i = 0; i < count; i++) a[dst + i] = seg.get(ValueLayout.JAVA_BYTE, src + i * step);
            }
            case U8 -> {
                int[] a = (int[]) array;
                for (int i = 0; i < count; i++) a[dst + i] = seg.get(ValueLayout.JAVA_BYTE, src + i * step) & 0xff;
            }
            case BOOL -> {
                byte[] a = (byte[]) array;
                for (int i = 0; i < count; i++) a[dst + i] = (byte) (seg.get(ValueLayout.JAVA_BYTE, src + i * step) != 0 ? 1 : 0);
            }
        }
    }
}
