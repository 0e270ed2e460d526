package dev.magvit4j.nn;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend.Distribution;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/** Parameter initialisers with PyTorch's defaults. */
public final class Init {

    private Init() {}

    /** Input fan of a weight: in features for [out, in], in·kh·kw for [out, in, kh, kw]. */
    public static int fanIn(Tensor weight) {
        int fan = weight.size(1);
        for (int d = 2; d < weight.dim(); d++) fan *= weight.size(d);
        return fan;
    }

    /**
     * PyTorch's default for Linear and Conv weights, kaiming_uniform_(a=√5): with gain
     * sqrt(2/(1+a²)) the bound sqrt(3)·gain/sqrt(fan_in) is exactly 1/sqrt(fan_in).
     */
    public static Tensor kaimingUniform(Tensor weight, Generator gen) {
        double bound = 1.0 / Math.sqrt(fanIn(weight));
        return uniform(weight, -bound, bound, gen);
    }

    /** PyTorch's default for Linear and Conv biases: uniform in ±1/sqrt(fan_in of the weight). */
    public static Tensor biasUniform(Tensor bias, int fanIn, Generator gen) {
        double bound = fanIn > 0 ? 1.0 / Math.sqrt(fanIn) : 0;
        return uniform(bias, -bound, bound, gen);
    }

    public static Tensor uniform(Tensor t, double low, double high, Generator gen) {
        try (var ignored = Autograd.noGrad()) {
            t.backend().fillRandom(t, Distribution.UNIFORM, low, high, gen);
        }
        return t;
    }

    public static Tensor normal(Tensor t, double mean, double std, Generator gen) {
        try (var ignored = Autograd.noGrad()) {
            t.backend().fillRandom(t, Distribution.NORMAL, mean, std, gen);
        }
        return t;
    }

    public static Tensor constant(Tensor t, double value) {
        try (var ignored = Autograd.noGrad()) {
            t.backend().fill(t, value);
        }
        return t;
    }
}
