package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.Tensor;

/** Pooling over NCHW tensors. */
public final class Pooling {

    private Pooling() {}

    /** Max over k x k windows moved by stride (no padding, floor mode); the gradient goes to each window's maximum. */
    public static Tensor maxPool2d(Tensor x, int kernel, int stride) {
        Backend be = x.backend();
        Tensor[] r = be.maxPool2d(x, kernel, stride);
        Tensor argmax = r[1];
        int[] xs = x.shape();
        return Autograd.record(r[0], "max_pool2d", g -> new Tensor[] {be.maxPool2dBackward(g, argmax, xs)}, x);
    }
}
