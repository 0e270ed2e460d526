package dev.magvit4j.backend.cpu;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/**
 * Rotary embedding on interleaved pairs: for x [..., T, D] and angle tables cos, sin [T, D/2],
 * (x[2i], x[2i+1]) at position t becomes (x0·c - x1·s, x0·s + x1·c). The rotation matrix is
 * orthogonal, so the backward is the same kernel with s negated. A position whose cos and sin
 * are both 0 (the class token, SPEC.md section 2) maps to zero, and so does its gradient.
 */
final class CpuRope {

    private CpuRope() {}

    static Tensor rope(Tensor x, Tensor cos, Tensor sin, boolean inverse) {
        int[] s = x.shapeRef();
        if (s.length < 2 || s[s.length - 1] % 2 != 0) {
            throw new IllegalArgumentException("rope needs x [..., T, D] with even D, got " + Shape.str(s));
        }
        int t = s[s.length - 2], d = s[s.length - 1], half = d / 2;
        int[] tableShape = {t, half};
        if (!java.util.Arrays.equals(cos.shapeRef(), tableShape) || !java.util.Arrays.equals(sin.shapeRef(), tableShape)) {
            throw new IllegalArgumentException("rope tables must be " + Shape.str(tableShape) + " for x " + Shape.str(s) + ", got cos " + Shape.str(cos.shapeRef()) + " and sin " + Shape.str(sin.shapeRef()));
        }
        x = CpuElementwise.dense(x);
        cos = CpuElementwise.dense(cos);
        sin = CpuElementwise.dense(sin);
        float[] xv = CpuElementwise.floats(x), cv = CpuElementwise.floats(cos), sv = CpuElementwise.floats(sin);
        int xo = x.offset(), co = cos.offset(), so = sin.offset();
        float sign = inverse ? -1f : 1f;
        Tensor out = CpuBackend.allocate(DType.FLOAT32, s);
        float[] o = CpuElementwise.floats(out);
        int rows = x.numel() / d;
        Parallel.forRange(rows, Math.max(1, 8192 / d), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int pos = r % t, at = r * d, tab = pos * half;
                for (int i = 0; i < half; i++) {
                    float c = cv[co + tab + i], sn = sign * sv[so + tab + i];
                    float x0 = xv[xo + at + 2 * i], x1 = xv[xo + at + 2 * i + 1];
                    o[at + 2 * i] = x0 * c - x1 * sn;
                    o[at + 2 * i + 1] = x0 * sn + x1 * c;
                }
            }
        });
        return out;
    }
}
