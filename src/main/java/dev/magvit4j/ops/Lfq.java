package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

/**
 * Lookup-free quantisation (SPEC.md section 1) as fused ops: the sign quantiser with its
 * straight-through gradient, the commitment loss, and the exact entropy terms.
 *
 * <pre>{@code
 * Lfq.Quantized q = Lfq.quantize(z, 6, 12);          // z [B, 18, h, w]
 * Tensor entropy = Lfq.entropy(z, 0.01f);             // [per-sample, codebook]
 * Tensor aux = entropy.select(0, 0).sub(entropy.select(0, 1));
 * Tensor loss = aux.mul(0.1f).add(Lfq.commitment(z, q.values()).mul(0.25f));
 * }</pre>
 */
public final class Lfq {

    private Lfq() {}

    /**
     * The quantiser's outputs: values (±1, shaped like z, with the straight-through gradient
     * z + (q - z).detach(): the gradient passes to z unchanged), the index of each token
     * (Σ 2^k [z_k > 0], channel 0 least significant), and one index per bit group.
     */
    public record Quantized(Tensor values, Tensor indices, Tensor[] groupIndices) {}

    /** Quantises z [B, C, *]; groupBits (e.g. 6, 12) splits each index into factor indices. */
    public static Quantized quantize(Tensor z, int... groupBits) {
        int[] groups = groupBits.length == 0 ? new int[] {z.size(1)} : groupBits;
        Tensor[] r = z.backend().lfqQuantize(z, groups);
        Tensor values = Autograd.record(r[0], "lfq_straight_through", g -> new Tensor[] {g}, z);
        return new Quantized(values, r[1], Arrays.copyOfRange(r, 2, r.length));
    }

    /** mean((z - q)²) with q detached: pulls the encoder output toward its code. */
    public static Tensor commitment(Tensor z, Tensor quantized) {
        return Arithmetic.sub(z, quantized.detach()).square().mean();
    }

    /**
     * [per-sample entropy, codebook entropy] of the code distribution softmax(2·z·c / T) over all
     * 2^C codes, computed exactly without materialising it; the reference's entropy aux loss is
     * the first minus the second.
     */
    public static Tensor entropy(Tensor z, float temperature) {
        Backend be = z.backend();
        Tensor[] r = be.lfqEntropy(z, temperature);
        Tensor probs = r[1];
        return Autograd.record(r[0], "lfq_entropy", g -> {
            float[] gv = g.toFloatArray();
            return new Tensor[] {be.lfqEntropyBackward(z, probs, temperature, gv[0], gv[1])};
        }, z);
    }

    /** ±1 codes [..., C] from indices (bit k → channel k), the inverse of {@link #quantize}'s indices. */
    public static Tensor indicesToCodes(Tensor indices, int bits) {
        long[] idx = indices.toLongArray();
        float[] codes = new float[idx.length * bits];
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= (1L << bits)) {
                throw new IndexOutOfBoundsException("code index " + idx[i] + " is out of range for " + bits + " bits");
            }
            for (int k = 0; k < bits; k++) codes[i * bits + k] = ((idx[i] >>> k) & 1) != 0 ? 1f : -1f;
        }
        int[] shape = java.util.Arrays.copyOf(indices.shapeRef(), indices.dim() + 1);
        shape[indices.dim()] = bits;
        return Tensor.of(codes, shape).to(indices.device());
    }
}
