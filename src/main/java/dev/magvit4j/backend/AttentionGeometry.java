package dev.magvit4j.backend;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

/**
 * The shapes of one attention call, checked once for every backend: q [batch, heads, tq, d],
 * k and v [batch, heads, tk, d] with tq <= tk (the queries are the last tq positions), and an
 * optional bool mask [tq, tk] or [batch|1, heads|1, tq, tk], whose element (b, h, i, j) of a
 * contiguous copy is at b·maskBatchStride + h·maskHeadStride + i·tk + j (stride 0 where broadcast).
 */
public record AttentionGeometry(int batch, int heads, int tq, int tk, int d, int maskBatchStride, int maskHeadStride, boolean causal) {

    /** The geometry of attention(q, k, v, mask), or a one-line error naming what does not fit. */
    public static AttentionGeometry of(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal) {
        int[] qs = q.shapeRef(), ks = k.shapeRef(), vs = v.shapeRef();
        if (qs.length != 4 || !Arrays.equals(ks, vs) || ks.length != 4 || qs[0] != ks[0] || qs[1] != ks[1] || qs[3] != ks[3]) {
            throw new IllegalArgumentException("attention needs q [B, H, Tq, D] and k, v [B, H, Tk, D], got " + Shape.str(qs) + ", " + Shape.str(ks) + ", " + Shape.str(vs));
        }
        int b = qs[0], h = qs[1], tq = qs[2], tk = ks[2];
        if (tq > tk) throw new IllegalArgumentException("attention with " + tq + " queries but only " + tk + " keys");
        int mb = 0, mh = 0;
        if (mask != null) {
            int[] ms = mask.shapeRef();
            boolean ok = mask.dtype() == DType.BOOL && ((ms.length == 2 && ms[0] == tq && ms[1] == tk)
                    || (ms.length == 4 && (ms[0] == b || ms[0] == 1) && (ms[1] == h || ms[1] == 1) && ms[2] == tq && ms[3] == tk));
            if (!ok) {
                throw new IllegalArgumentException("attention mask must be bool [" + tq + ", " + tk + "] or [B|1, H|1, " + tq + ", " + tk + "], got " + mask.dtype() + " " + Shape.str(ms));
            }
            if (ms.length == 4) {
                mh = ms[1] == 1 ? 0 : tq * tk;
                mb = ms[0] == 1 ? 0 : ms[1] * tq * tk;
            }
        }
        return new AttentionGeometry(b, h, tq, tk, qs[3], mb, mh, causal);
    }

    /** (batch, head) pairs. */
    public int bh() {
        return batch * heads;
    }

    /** How many positions the first query comes after the first key: query i is at position i + shift. */
    public int shift() {
        return tk - tq;
    }

    /** Keys 0 .. limit-1 are the only ones query i may see (all of them, unless causal). */
    public int limit(int i) {
        return causal ? Math.min(tk, i + shift() + 1) : tk;
    }

    /** How many keys query rows [r0, r1) can see at most. */
    public int keysFor(int r1) {
        return causal ? Math.min(tk, r1 + shift()) : tk;
    }

    /** Whether query i of (b, h) may see key j, given the mask as the bytes of a contiguous copy (or null). */
    public boolean visible(byte[] mask, int b, int h, int i, int j) {
        if (causal && j > i + shift()) return false;
        return mask == null || mask[b * maskBatchStride + h * maskHeadStride + i * tk + j] != 0;
    }
}
