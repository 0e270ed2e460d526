package dev.magvit4j.ar;

import dev.magvit4j.nn.Module;
import dev.magvit4j.nn.RMSNorm;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/** A pre-norm Llama block: h = x + attention(norm(x)); out = h + feed_forward(norm(h)). */
public final class Block extends Module {

    public final Attention attention;
    public final FeedForward feedForward;
    public final RMSNorm attentionNorm, ffnNorm;

    Block(ArConfig c, Generator gen) {
        attention = child("attention", new Attention(c, gen));
        feedForward = child("feed_forward", new FeedForward(c, gen));
        attentionNorm = child("attention_norm", new RMSNorm(c.dim(), c.normEps()));
        ffnNorm = child("ffn_norm", new RMSNorm(c.dim(), c.normEps()));
    }

    /** x [R, T, dim] at positions with rotation tables cos, sin [T, headDim/2]; cache may be null. */
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, KVCache cache) {
        Tensor h = x.add(attention.forward(attentionNorm.forward(x), cos, sin, cache));
        return h.add(feedForward.forward(ffnNorm.forward(h)));
    }
}
