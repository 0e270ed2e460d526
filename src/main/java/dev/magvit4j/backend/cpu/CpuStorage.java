package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Storage;

/** Host memory as a Java array: float[] (float32), long[] (int64), int[] (int32) or byte[] (bool). */
public final class CpuStorage extends Storage {

    private final Object array;

    CpuStorage(float[] a) { this(DType.FLOAT32, a, a.length); }
    CpuStorage(long[] a) { this(DType.INT64, a, a.length); }
    CpuStorage(int[] a) { this(DType.INT32, a, a.length); }
    CpuStorage(byte[] a) { this(DType.BOOL, a, a.length); }

    private CpuStorage(DType dtype, Object array, int length) {
        super(dtype, length);
        this.array = array;
    }

    static CpuStorage allocate(DType dtype, int length) {
        return switch (dtype) {
            case FLOAT32 -> new CpuStorage(new float[length]);
            case INT64 -> new CpuStorage(new long[length]);
            case INT32 -> new CpuStorage(new int[length]);
            case BOOL -> new CpuStorage(new byte[length]);
        };
    }

    @Override
    public Backend backend() {
        return Backends.cpu();
    }

    public float[] floats() {
        if (dtype() != DType.FLOAT32) throw new IllegalStateException("expected a float32 tensor, got " + dtype());
        return (float[]) array;
    }

    public long[] longs() {
        if (dtype() != DType.INT64) throw new IllegalStateException("expected an int64 tensor, got " + dtype());
        return (long[]) array;
    }

    public int[] ints() {
        if (dtype() != DType.INT32) throw new IllegalStateException("expected an int32 tensor, got " + dtype());
        return (int[]) array;
    }

    public byte[] bytes() {
        if (dtype() != DType.BOOL) throw new IllegalStateException("expected a bool tensor, got " + dtype());
        return (byte[]) array;
    }

    /** Element i converted to double, whatever the dtype. */
    double getDouble(int i) {
        return switch (dtype()) {
            case FLOAT32 -> ((float[]) array)[i];
            case INT64 -> ((long[]) array)[i];
            case INT32 -> ((int[]) array)[i];
            case BOOL -> ((byte[]) array)[i];
        };
    }

    /** Element i converted to long, whatever the dtype (floats truncate toward zero). */
    long getLong(int i) {
        return switch (dtype()) {
            case FLOAT32 -> (long) ((float[]) array)[i];
            case INT64 -> ((long[]) array)[i];
            case INT32 -> ((int[]) array)[i];
            case BOOL -> ((byte[]) array)[i];
        };
    }

    void setDouble(int i, double v) {
        switch (dtype()) {
            case FLOAT32 -> ((float[]) array)[i] = (float) v;
            case INT64 -> ((long[]) array)[i] = (long) v;
            case INT32 -> ((int[]) array)[i] = (int) v;
            case BOOL -> ((byte[]) array)[i] = (byte) (v != 0 ? 1 : 0);
        }
    }

    void setLong(int i, long v) {
        switch (dtype()) {
            case FLOAT32 -> ((float[]) array)[i] = v;
            case INT64 -> ((long[]) array)[i] = v;
            case INT32 -> ((int[]) array)[i] = (int) v;
            case BOOL -> ((byte[]) array)[i] = (byte) (v != 0 ? 1 : 0);
        }
    }

    Object array() {
        return array;
    }
}
