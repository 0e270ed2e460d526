package dev.magvit4j.nn;

import dev.magvit4j.ops.Pooling;
import dev.magvit4j.tensor.Tensor;

/** Max pooling over k x k windows with a stride (no padding). */
public final class MaxPool2d extends Module implements Layer {

    public final int kernel, stride;

    public MaxPool2d(int kernel, int stride) {
        this.kernel = kernel;
        this.stride = stride;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Pooling.maxPool2d(x, kernel, stride);
    }
}
