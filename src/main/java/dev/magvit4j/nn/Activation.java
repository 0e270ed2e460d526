package dev.magvit4j.nn;

import dev.magvit4j.tensor.Tensor;

import java.util.function.UnaryOperator;

/** A parameter-free activation as a module, for {@link Sequential} chains (LeakyReLU, SiLU, ...). */
public final class Activation extends Module implements Layer {

    private final String name;
    private final UnaryOperator<Tensor> f;

    private Activation(String name, UnaryOperator<Tensor> f) {
        this.name = name;
        this.f = f;
    }

    public static Activation leakyRelu(float slope) {
        return new Activation("LeakyReLU(" + slope + ")", x -> x.leakyRelu(slope));
    }

    public static Activation silu() {
        return new Activation("SiLU", Tensor::silu);
    }

    public static Activation relu() {
        return new Activation("ReLU", Tensor::relu);
    }

    @Override
    public Tensor forward(Tensor x) {
        return f.apply(x);
    }

    @Override
    public String toString() {
        return name;
    }
}
