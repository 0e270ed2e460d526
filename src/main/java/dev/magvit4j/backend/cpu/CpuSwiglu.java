package dev.magvit4j.backend.cpu;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/** The SwiGLU gate silu(a)·b of the Llama feed-forward, and its gradients. */
final class CpuSwiglu {

    private CpuSwiglu() {}

    private static final VectorSpecies<Float> S = CpuElementwise.S;
    private static final int L = S.length();

    private static void check(Tensor a, Tensor b) {
        if (!java.util.Arrays.equals(a.shapeRef(), b.shapeRef())) {
            throw new IllegalArgumentException("swiglu halves must have one shape, got " + Shape.str(a.shapeRef()) + " and " + Shape.str(b.shapeRef()));
        }
    }

    static Tensor forward(Tensor a, Tensor b) {
        check(a, b);
        a = CpuElementwise.dense(a);
        b = CpuElementwise.dense(b);
        float[] av = CpuElementwise.floats(a), bv = CpuElementwise.floats(b);
        int ao = a.offset(), bo = b.offset();
        Tensor out = CpuBackend.allocate(DType.FLOAT32, a.shapeRef());
        float[] o = CpuElementwise.floats(out);
        Parallel.forRange(a.numel(), 1 << 14, (i0, i1) -> {
            for (int i = i0; i < i1; i += L) {
                VectorMask<Float> m = S.indexInRange(i, i1);
                FloatVector x = FloatVector.fromArray(S, av, ao + i, m);
                x.mul(VectorMath.sigmoid(x)).mul(FloatVector.fromArray(S, bv, bo + i, m)).intoArray(o, i, m);
            }
        });
        return out;
    }

    /** da = dout·b·σ(a)·(1 + a·(1 - σ(a))),  db = dout·a·σ(a). */
    static Tensor[] backward(Tensor a, Tensor b, Tensor dout) {
        check(a, b);
        a = CpuElementwise.dense(a);
        b = CpuElementwise.dense(b);
        dout = CpuElementwise.dense(dout);
        float[] av = CpuElementwise.floats(a), bv = CpuElementwise.floats(b), gv = CpuElementwise.floats(dout);
        int ao = a.offset(), bo = b.offset(), go = dout.offset();
        Tensor da = CpuBackend.allocate(DType.FLOAT32, a.shapeRef()), db = CpuBackend.allocate(DType.FLOAT32, a.shapeRef());
        float[] dav = CpuElementwise.floats(da), dbv = CpuElementwise.floats(db);
        Parallel.forRange(a.numel(), 1 << 14, (i0, i1) -> {
            for (int i = i0; i < i1; i += L) {
                VectorMask<Float> m = S.indexInRange(i, i1);
                FloatVector x = FloatVector.fromArray(S, av, ao + i, m);
                FloatVector y = FloatVector.fromArray(S, bv, bo + i, m);
                FloatVector g = FloatVector.fromArray(S, gv, go + i, m);
                FloatVector s = VectorMath.sigmoid(x);
                g.mul(y).mul(s.mul(x.mul(s.neg().add(1f)).add(1f))).intoArray(dav, i, m);
                g.mul(x).mul(s).intoArray(dbv, i, m);
            }
        });
        return new Tensor[] {da, db};
    }
}
