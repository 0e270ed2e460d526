package dev.magvit4j.ar;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/**
 * Keys and values of the positions seen so far, for one attention layer: [R, H, capacity, D]
 * buffers filled left to right. {@link #append} writes the new positions and returns views of
 * all filled ones, so each decoding step attends to the cache without copying it.
 */
public final class KVCache {

    private final Tensor keys, values;
    private int length;

    /** A cache for rows sequences of up to capacity positions, allocated like the given tensor. */
    public KVCache(Tensor like, int rows, int heads, int capacity, int headDim) {
        this.keys = like.backend().empty(DType.FLOAT32, rows, heads, capacity, headDim);
        this.values = like.backend().empty(DType.FLOAT32, rows, heads, capacity, headDim);
    }

    public int length() {
        return length;
    }

    public int capacity() {
        return keys.size(2);
    }

    /** Forgets every position (the buffers are reused). */
    public void clear() {
        length = 0;
    }

    /** Stores k, v [R, H, T, D] at the next T positions; returns {keys, values} of all positions so far. */
    public Tensor[] append(Tensor k, Tensor v) {
        int t = k.size(2);
        if (k.dim() != 4 || k.size(0) != keys.size(0) || k.size(1) != keys.size(1) || k.size(3) != keys.size(3)) {
            throw new IllegalArgumentException("cache of " + Shape.str(keys.shapeRef()) + " cannot take keys " + Shape.str(k.shapeRef()));
        }
        if (length + t > capacity()) {
            throw new IllegalStateException("key/value cache full: " + length + " + " + t + " positions exceed its " + capacity());
        }
        keys.backend().copy(k, keys.slice(2, length, length + t));
        values.backend().copy(v, values.slice(2, length, length + t));
        length += t;
        return new Tensor[] {keys.slice(2, 0, length), values.slice(2, 0, length)};
    }
}
