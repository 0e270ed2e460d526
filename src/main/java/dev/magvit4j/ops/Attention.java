package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Tensor;

/** Scaled dot-product attention as one op (no Tq x Tk matrix is kept). */
public final class Attention {

    private Attention() {}

    /**
     * softmax(q·kᵀ·scale + mask)·v for q [B, H, Tq, D], k, v [B, H, Tk, D]. Query i sits at key
     * position i + Tk - Tq, so a key/value cache of earlier positions can be passed as k, v.
     * causal hides later keys; mask (bool, true = attend; [Tq, Tk] or [B|1, H|1, Tq, Tk]) may be null.
     * A query that sees no key at all gets zeros.
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        Backend be = Backends.of(q, k, v, mask);
        Tensor[] r = be.attention(q, k, v, mask, causal, scale);
        Tensor out = r[0], lse = r[1];
        return Autograd.record(out, "attention", g -> {
            Tensor[] d = be.attentionBackward(q, k, v, out, lse, g, mask, causal, scale);
            return new Tensor[] {d[0], d[1], d[2], null};
        }, q, k, v, mask);
    }

    /** Causal attention with the usual 1/sqrt(head dim) scale. */
    public static Tensor causal(Tensor q, Tensor k, Tensor v) {
        return scaledDotProduct(q, k, v, null, true, (float) (1.0 / Math.sqrt(q.size(-1))));
    }
}
