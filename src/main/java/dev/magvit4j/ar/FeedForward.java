package dev.magvit4j.ar;

import dev.magvit4j.nn.Dropout;
import dev.magvit4j.nn.Linear;
import dev.magvit4j.nn.Module;
import dev.magvit4j.ops.SwiGlu;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/** The Llama feed-forward: dropout(w2(silu(w1·x) ∘ w3·x)), no biases. */
public final class FeedForward extends Module {

    public final Linear w1, w3, w2;
    final Dropout ffnDropout;

    FeedForward(ArConfig c, Generator gen) {
        int hidden = c.ffnHidden();
        w1 = child("w1", new Linear(c.dim(), hidden, false, gen));
        w3 = child("w3", new Linear(c.dim(), hidden, false, gen));
        w2 = child("w2", new Linear(hidden, c.dim(), false, gen));
        ffnDropout = child("ffn_dropout", new Dropout(c.ffnDrop(), gen));
    }

    public Tensor forward(Tensor x) {
        return ffnDropout.forward(w2.forward(SwiGlu.apply(w1.forward(x), w3.forward(x))));
    }
}
