package dev.magvit4j.nn;

import dev.magvit4j.ops.Convolution;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/** 2-D convolution with a square kernel, weight [out, in, k, k], optional bias [out]. */
public final class Conv2d extends Module implements Layer {

    public final Tensor weight;
    public final Tensor bias;
    public final int stride, padding;

    public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias) {
        this(in, out, kernel, stride, padding, bias, Generator.global());
    }

    public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias, Generator gen) {
        this.stride = stride;
        this.padding = padding;
        this.weight = parameter("weight", Init.kaimingUniform(Tensor.empty(DType.FLOAT32, out, in, kernel, kernel), gen));
        this.bias = bias ? parameter("bias", Init.biasUniform(Tensor.empty(DType.FLOAT32, out), in * kernel * kernel, gen)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Convolution.conv2d(x, weight, bias, stride, padding);
    }
}
