package dev.magvit4j.tensor;

import dev.magvit4j.backend.Backend;

/**
 * A flat block of elements of one dtype on one device. Tensors are views into a storage
 * (shape, strides, offset); several tensors may share one.
 */
public abstract class Storage {

    public abstract DType dtype();

    /** Number of elements (not bytes). */
    public abstract int length();

    /** The backend that owns this memory and runs ops on it. */
    public abstract Backend backend();

    public Device device() {
        return backend().device();
    }
}
