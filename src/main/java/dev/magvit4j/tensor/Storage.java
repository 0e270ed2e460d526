package dev.magvit4j.tensor;

import dev.magvit4j.backend.Backend;

/**
 * A flat block of elements of one dtype on one device. Tensors are views into a storage
 * (shape, strides, offset); several tensors may share one.
 */
public abstract class Storage {

    private final DType dtype;
    private final int length;

    protected Storage(DType dtype, int length) {
        this.dtype = dtype;
        this.length = length;
    }

    public final DType dtype() {
        return dtype;
    }

    /** Number of elements (not bytes). */
    public final int length() {
        return length;
    }

    /** The backend that owns this memory and runs ops on it. */
    public abstract Backend backend();

    public Device device() {
        return backend().device();
    }
}
