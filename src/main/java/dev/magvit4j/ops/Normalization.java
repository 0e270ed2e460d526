package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** GroupNorm (plain, affine and adaptive), BatchNorm2d, LayerNorm and RMSNorm. */
public final class Normalization {

    private Normalization() {}

    /**
     * GroupNorm of x [B, C, *] over groups of C/groups channels; scale and shift are null or
     * [C] (the affine weight and bias).
     */
    public static Tensor groupNorm(Tensor x, int groups, Tensor scale, Tensor shift, float eps) {
        return groupNormImpl("group_norm", x, groups, scale, shift, eps, false);
    }

    /** silu(groupNorm(x)) as one op: one pass and one output instead of two (the tokenizer's ResBlocks). */
    public static Tensor groupNormSilu(Tensor x, int groups, Tensor scale, Tensor shift, float eps) {
        return groupNormImpl("group_norm_silu", x, groups, scale, shift, eps, true);
    }

    /**
     * The decoder's adaptive GroupNorm as one op: GroupNorm without affine, then a per-sample,
     * per-channel scale and shift, both [B, C] (SPEC.md section 1: gamma(s)·GN(x) + beta(m)).
     */
    public static Tensor adaptiveGroupNorm(Tensor x, int groups, Tensor scale, Tensor shift, float eps) {
        int[] bc = {x.size(0), x.size(1)};
        if (!java.util.Arrays.equals(scale.shapeRef(), bc) || !java.util.Arrays.equals(shift.shapeRef(), bc)) {
            throw new IllegalArgumentException("adaptive group norm needs scale and shift of shape " + Shape.str(bc) + ", got " + Shape.str(scale.shapeRef()) + " and " + Shape.str(shift.shapeRef()));
        }
        return groupNormImpl("adaptive_group_norm", x, groups, scale, shift, eps, false);
    }

    private static Tensor groupNormImpl(String name, Tensor x, int groups, Tensor scale, Tensor shift, float eps, boolean silu) {
        Backend be = Backends.of(x, scale, shift);
        Tensor[] r = be.groupNorm(x, groups, eps, scale, shift, silu);
        Tensor mean = r[1], rstd = r[2];
        return Autograd.record(r[0], name, g -> {
            Tensor[] d = be.groupNormBackward(g, x, mean, rstd, groups, scale, shift, silu);
            return new Tensor[] {d[0], perTable(d[1], scale), perTable(d[2], shift)};
        }, x, scale, shift);
    }

    /** Backend affine gradients are per (sample, channel); a [C] table sums them over samples. */
    private static Tensor perTable(Tensor perSampleChannel, Tensor table) {
        if (perSampleChannel == null || table == null || !table.requiresGrad()) return null;
        if (table.dim() == 2) return perSampleChannel;
        return perSampleChannel.backend().reduce(ReduceOp.SUM, perSampleChannel, new int[] {0}, false);
    }

    /** x·rsqrt(mean(x²) + eps)·weight over the last dim. */
    public static Tensor rmsNorm(Tensor x, Tensor weight, float eps) {
        Backend be = Backends.of(x, weight);
        Tensor[] r = be.rmsNorm(x, weight, eps);
        Tensor rstd = r[1];
        return Autograd.record(r[0], "rms_norm", g -> be.rmsNormBackward(g, x, weight, rstd), x, weight);
    }

    /**
     * BatchNorm2d on x [B, C, H, W]. Training: batch statistics normalise (biased variance), and
     * the running statistics (if given) move by momentum toward the batch mean and the unbiased
     * batch variance, in place, as in PyTorch. Eval: the running statistics normalise.
     */
    public static Tensor batchNorm2d(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                     boolean training, float momentum, float eps) {
        if (x.dim() != 4) throw new IllegalArgumentException("batch norm 2d needs [B, C, H, W], got " + Shape.str(x.shapeRef()));
        int c = x.size(1);
        int[] dims = {0, 2, 3}, perChannel = {1, c, 1, 1};
        Tensor mean, var;
        if (training) {
            mean = Reductions.mean(x, dims, true);
            var = Reductions.var(x, dims, false, true);
            if (runningMean != null && runningVar != null) {
                int n = x.numel() / c;
                try (var ignored = Autograd.noGrad()) {
                    Backend be = x.backend();
                    Tensor unbiased = be.affine(var.detach().reshape(c), n / (float) Math.max(n - 1, 1), 0f);
                    be.axpby(momentum, mean.detach().reshape(c), 1f - momentum, runningMean);
                    be.axpby(momentum, unbiased, 1f - momentum, runningVar);
                }
            }
        } else {
            if (runningMean == null || runningVar == null) throw new IllegalStateException("batch norm in eval mode needs running statistics");
            mean = runningMean.detach().reshape(perChannel);
            var = runningVar.detach().reshape(perChannel);
        }
        Tensor y = Arithmetic.mul(Arithmetic.sub(x, mean), Arithmetic.unary(Backend.UnaryOp.RSQRT, var.add(eps)));
        if (weight != null) y = Arithmetic.mul(y, weight.reshape(perChannel));
        if (bias != null) y = Arithmetic.add(y, bias.reshape(perChannel));
        return y;
    }

    /** LayerNorm over the last {@code dims} dims, with optional elementwise weight and bias of that shape. */
    public static Tensor layerNorm(Tensor x, int dims, Tensor weight, Tensor bias, float eps) {
        if (dims < 1 || dims > x.dim()) throw new IllegalArgumentException("layer norm over " + dims + " dims of a rank-" + x.dim() + " tensor");
        int[] over = new int[dims];
        for (int i = 0; i < dims; i++) over[i] = x.dim() - dims + i;
        Tensor mean = Reductions.mean(x, over, true);
        Tensor var = Reductions.var(x, over, false, true);
        Tensor y = Arithmetic.mul(Arithmetic.sub(x, mean), Arithmetic.unary(Backend.UnaryOp.RSQRT, var.add(eps)));
        if (weight != null) y = Arithmetic.mul(y, weight);
        if (bias != null) y = Arithmetic.add(y, bias);
        return y;
    }
}
