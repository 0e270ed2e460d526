package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Tensor;

/** 2-D convolution, NCHW input, OIHW weight. */
public final class Convolution {

    private Convolution() {}

    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(x, weight, bias, stride, stride, padding, padding);
    }

    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW) {
        Backend be = Backends.of(x, weight, bias);
        Tensor out = be.conv2d(x, weight, bias, strideH, strideW, padH, padW);
        int[] xs = x.shape(), ws = weight.shape();
        return Autograd.record(out, "conv2d", g -> new Tensor[] {
                x.requiresGrad() ? be.conv2dBackwardInput(g, weight, xs, strideH, strideW, padH, padW) : null,
                weight.requiresGrad() ? be.conv2dBackwardWeight(g, x, ws, strideH, strideW, padH, padW) : null,
                bias != null && bias.requiresGrad() ? be.reduce(ReduceOp.SUM, g, new int[] {0, 2, 3}, false) : null}, x, weight, bias);
    }
}
