package dev.magvit4j.backend.cpu;

import dev.magvit4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * One Adam / AdamW step, in place, as PyTorch computes it:
 * m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps),
 * with weight decay either added to g (Adam) or applied as p -= lr·wd·p first (AdamW).
 */
final class CpuAdam {

    private CpuAdam() {}

    private static final VectorSpecies<Float> S = CpuElementwise.S;
    private static final int L = S.length();

    static void step(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                     float weightDecay, boolean decoupled, long step) {
        for (Tensor t : new Tensor[] {param, m, v}) {
            if (!t.isContiguous()) throw new IllegalArgumentException("adam updates contiguous tensors in place");
        }
        grad = CpuElementwise.dense(grad);
        float[] p = CpuElementwise.floats(param), g = CpuElementwise.floats(grad), mv = CpuElementwise.floats(m), vv = CpuElementwise.floats(v);
        int po = param.offset(), go = grad.offset(), mo = m.offset(), vo = v.offset();
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        float stepSize = lr / bc1, decay = decoupled ? 1f - lr * weightDecay : 1f, l2 = decoupled ? 0f : weightDecay;
        Parallel.forRange(param.numel(), 1 << 14, (i0, i1) -> {
            for (int i = i0; i < i1; i += L) {
                VectorMask<Float> k = S.indexInRange(i, i1);
                FloatVector pp = FloatVector.fromArray(S, p, po + i, k);
                FloatVector gg = FloatVector.fromArray(S, g, go + i, k).add(pp.mul(l2));
                FloatVector m1 = FloatVector.fromArray(S, mv, mo + i, k).mul(beta1).add(gg.mul(1f - beta1));
                FloatVector v1 = FloatVector.fromArray(S, vv, vo + i, k).mul(beta2).add(gg.mul(gg).mul(1f - beta2));
                m1.intoArray(mv, mo + i, k);
                v1.intoArray(vv, vo + i, k);
                FloatVector denom = v1.sqrt().div(bc2Sqrt).add(eps);
                pp.mul(decay).sub(m1.div(denom).mul(stepSize)).intoArray(p, po + i, k);
            }
        });
    }
}
