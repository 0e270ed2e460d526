package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Tensor;

/** The gate of the Llama feed-forward: silu(a)·b, as one op. */
public final class SwiGlu {

    private SwiGlu() {}

    public static Tensor apply(Tensor a, Tensor b) {
        Backend be = Backends.of(a, b);
        Tensor out = be.swiglu(a, b);
        return Autograd.record(out, "swiglu", g -> be.swigluBackward(a, b, g), a, b);
    }
}
