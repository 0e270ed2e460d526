package dev.magvit4j.tokenizer;

import dev.magvit4j.nn.Module;
import dev.magvit4j.ops.Lfq;
import dev.magvit4j.tensor.Tensor;

/**
 * The lookup-free quantizer (SPEC.md section 1): each latent vector of C channels becomes a
 * code in {-1, +1}^C, its index Σ 2^k [z_k > 0], and the factorised sub-indices the AR model
 * uses (bits [6, 12] by default). No parameters. With losses, also the entropy aux loss
 * (per-sample entropy − codebook entropy, both weights 1.0 as released) and the commitment.
 */
public final class LookupFreeQuantizer extends Module {

    public final int bits;
    public final int[] factorizedBits;
    public final float entropyTemperature;

    public LookupFreeQuantizer(int bits, int[] factorizedBits, float entropyTemperature) {
        int sum = 0;
        for (int b : factorizedBits) sum += b;
        if (sum != bits) throw new IllegalArgumentException("factorised bits " + java.util.Arrays.toString(factorizedBits) + " must add up to " + bits);
        this.bits = bits;
        this.factorizedBits = factorizedBits.clone();
        this.entropyTemperature = entropyTemperature;
    }

    /** The released setting: bits split [6, bits - 6], temperature 0.01. */
    public static LookupFreeQuantizer released(int bits) {
        return new LookupFreeQuantizer(bits, bits > 6 ? new int[] {6, bits - 6} : new int[] {bits}, 0.01f);
    }

    /** Quantizer outputs; the loss fields are null unless asked for. */
    public record Output(Tensor quantized, Tensor indices, Tensor[] factorIndices,
                         Tensor entropyAuxLoss, Tensor perSampleEntropy, Tensor codebookEntropy, Tensor commitment) {}

    public Output forward(Tensor z, boolean withLosses) {
        if (z.size(1) != bits) throw new IllegalArgumentException("quantizer for " + bits + " bits got a latent with " + z.size(1) + " channels");
        Lfq.Quantized q = Lfq.quantize(z, factorizedBits);
        if (!withLosses) return new Output(q.values(), q.indices(), q.groupIndices(), null, null, null, null);
        Tensor entropy = Lfq.entropy(z, entropyTemperature);
        Tensor perSample = entropy.select(0, 0), codebook = entropy.select(0, 1);
        return new Output(q.values(), q.indices(), q.groupIndices(), perSample.sub(codebook), perSample, codebook, Lfq.commitment(z, q.values()));
    }

    /** ±1 codes [B, C, h, w] of 18-bit indices [B, h, w]: bit k → channel k. */
    public Tensor codes(Tensor indices) {
        return Lfq.indicesToCodes(indices, bits).permute(0, 3, 1, 2).contiguous();
    }

    /** 18-bit indices [B, h, w] of codes (or any latent) [B, C, h, w]: bit k set where channel k is positive. */
    public Tensor indices(Tensor codes) {
        if (codes.dim() != 4 || codes.size(1) != bits) {
            throw new IllegalArgumentException("codes must be [B, " + bits + ", h, w], got " + dev.magvit4j.tensor.Shape.str(codes.shapeRef()));
        }
        return Lfq.quantize(codes.detach(), factorizedBits).indices();
    }

    /** Full indices from factorised ones: pre + post · 2^(bits of pre), and so on for more groups. */
    public Tensor combine(Tensor... factors) {
        if (factors.length != factorizedBits.length) {
            throw new IllegalArgumentException("expected " + factorizedBits.length + " factor index tensors, got " + factors.length);
        }
        long[] out = new long[factors[0].numel()];
        for (int g = 0, shift = 0; g < factors.length; shift += factorizedBits[g], g++) {
            if (!java.util.Arrays.equals(factors[g].shapeRef(), factors[0].shapeRef())) {
                throw new IllegalArgumentException("factor index tensors differ in shape");
            }
            long[] v = factors[g].toLongArray();
            for (int i = 0; i < v.length; i++) {
                if (v[i] < 0 || v[i] >= (1L << factorizedBits[g])) {
                    throw new IndexOutOfBoundsException("factor " + g + " index " + v[i] + " is out of range for " + factorizedBits[g] + " bits");
                }
                out[i] |= v[i] << shift;
            }
        }
        return Tensor.ofLongs(out, factors[0].shape()).to(factors[0].device());
    }
}
