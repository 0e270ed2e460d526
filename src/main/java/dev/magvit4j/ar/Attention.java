package dev.magvit4j.ar;

import dev.magvit4j.nn.Dropout;
import dev.magvit4j.nn.Linear;
import dev.magvit4j.nn.Module;
import dev.magvit4j.ops.Rope;
import dev.magvit4j.ops.Views;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

import java.util.List;

import static dev.magvit4j.ops.Attention.scaledDotProduct;

/**
 * Causal multi-head self-attention with the 2-D rotary embedding: one {@code wqkv} projection
 * split into q, k, v; q and k rotated; softmax(q·kᵀ/√d)·v; {@code wo}; dropout. No biases.
 */
public final class Attention extends Module {

    public final Linear wqkv, wo;
    final Dropout residDropout;
    private final int dim, heads;

    Attention(ArConfig c, Generator gen) {
        dim = c.dim();
        heads = c.nHead();
        wqkv = child("wqkv", new Linear(dim, 3 * dim, false, gen));
        wo = child("wo", new Linear(dim, dim, false, gen));
        residDropout = child("resid_dropout", new Dropout(c.residDrop(), gen));
    }

    /**
     * x [R, T, dim] at positions whose rotation tables are cos, sin [T, headDim/2]. With a cache,
     * the T new keys and values are appended and the queries attend to every cached position.
     */
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, KVCache cache) {
        int r = x.size(0), t = x.size(1), hd = dim / heads;
        List<Tensor> qkv = Views.split(wqkv.forward(x), 2, 2 * dim, dim);
        // q and k rotated together, as 2·heads heads (the rotation depends on the position only).
        Tensor qk = Rope.apply(qkv.get(0).view(r, t, 2 * heads, hd).transpose(1, 2), cos, sin);
        Tensor q = qk.slice(1, 0, heads), k = qk.slice(1, heads, 2 * heads);
        Tensor v = qkv.get(1).view(r, t, heads, hd).transpose(1, 2);
        if (cache != null) {
            Tensor[] kv = cache.append(k, v);
            k = kv[0];
            v = kv[1];
        }
        Tensor o = scaledDotProduct(q, k, v, null, true, (float) (1.0 / Math.sqrt(hd)));
        return residDropout.forward(wo.forward(o.transpose(1, 2).reshape(r, t, dim)));
    }
}
