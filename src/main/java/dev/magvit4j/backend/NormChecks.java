package dev.magvit4j.backend;

import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/**
 * The shape checks of the normalisations, the same for every backend (CpuNorm, CudaNorm): each
 * throws a one-line error naming the tensor that does not fit.
 */
public final class NormChecks {

    private NormChecks() {}

    /** x [B, C, ...] with C divisible by groups; scale and shift (optional) [C] or [B, C]. */
    public static void groupNorm(Tensor x, int groups, Tensor scale, Tensor shift) {
        int[] shape = x.shapeRef();
        if (shape.length < 2) throw new IllegalArgumentException("group norm needs [B, C, ...], got " + Shape.str(shape));
        int batch = shape[0], channels = shape[1];
        if (groups <= 0 || channels % groups != 0) {
            throw new IllegalArgumentException("group norm: " + channels + " channels cannot be split into " + groups + " groups");
        }
        affine(scale, "scale", batch, channels);
        affine(shift, "shift", batch, channels);
    }

    /** As {@link #groupNorm}, and dy shaped like x, mean and rstd holding B x groups statistics. */
    public static void groupNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor rstd, int groups, Tensor scale, Tensor shift) {
        groupNorm(x, groups, scale, shift);
        int[] shape = x.shapeRef();
        if (!Shape.sameShape(dy.shapeRef(), shape)) {
            throw new IllegalArgumentException("group norm backward: dy of shape " + Shape.str(dy.shapeRef()) + " for x of shape " + Shape.str(shape));
        }
        int stats = shape[0] * groups;
        if (mean.numel() != stats || rstd.numel() != stats) {
            throw new IllegalArgumentException("group norm backward: mean " + Shape.str(mean.shapeRef()) + " and rstd " + Shape.str(rstd.shapeRef())
                    + " must hold " + shape[0] + " x " + groups + " statistics");
        }
    }

    /** weight [D] for rows of D = x's last dim. */
    public static void rmsNorm(Tensor x, Tensor weight) {
        int d = x.size(-1);
        if (weight.dim() != 1 || weight.size(0) != d) {
            throw new IllegalArgumentException("rms norm weight of shape " + Shape.str(weight.shapeRef()) + " for rows of " + d);
        }
    }

    /** As {@link #rmsNorm}, and dy shaped like x, rstd one value per row. */
    public static void rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd) {
        int d = x.size(-1);
        if (!Shape.sameShape(dy.shapeRef(), x.shapeRef()) || weight.dim() != 1 || weight.size(0) != d || (long) rstd.numel() * d != x.numel()) {
            throw new IllegalArgumentException("rms norm backward: dy " + Shape.str(dy.shapeRef()) + ", weight " + Shape.str(weight.shapeRef())
                    + " and rstd " + Shape.str(rstd.shapeRef()) + " do not fit x " + Shape.str(x.shapeRef()));
        }
    }

    private static void affine(Tensor t, String name, int batch, int channels) {
        if (t == null) return;
        boolean ok = (t.dim() == 1 && t.size(0) == channels) || (t.dim() == 2 && t.size(0) == batch && t.size(1) == channels);
        if (!ok) {
            throw new IllegalArgumentException("group norm " + name + " of shape " + Shape.str(t.shapeRef()) + " must be [" + channels + "] or [" + batch + ", " + channels + "]");
        }
    }
}
