package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/** Softmax, log-softmax and cross-entropy. */
public final class Softmax {

    private Softmax() {}

    /** PyTorch's default ignore_index. */
    public static final long IGNORE_INDEX = -100;

    public static Tensor softmax(Tensor x, int dim) {
        return apply(x, dim, false);
    }

    public static Tensor logSoftmax(Tensor x, int dim) {
        return apply(x, dim, true);
    }

    private static Tensor apply(Tensor x, int dim, boolean log) {
        int d = x.dim() == 0 ? 0 : Shape.dim(dim, x.dim()), last = Math.max(x.dim() - 1, 0);
        Backend be = x.backend();
        Tensor moved = d == last ? x.detach() : x.detach().transpose(d, last);
        Tensor y = be.softmax(moved, log);
        Tensor out = d == last ? y : y.transpose(d, last);
        return Autograd.record(out, log ? "log_softmax" : "softmax", g -> {
            Tensor gm = d == last ? g : g.transpose(d, last);
            Tensor dx = be.softmaxBackward(y, gm, log);
            return new Tensor[] {d == last ? dx : dx.transpose(d, last)};
        }, x);
    }

    /** Mean cross-entropy of logits [N, C] against class indices [N] (int64 or int32). */
    public static Tensor crossEntropy(Tensor logits, Tensor targets) {
        return crossEntropy(logits, targets, IGNORE_INDEX);
    }

    /** Mean over the rows whose target is not ignoreIndex. */
    public static Tensor crossEntropy(Tensor logits, Tensor targetsAnywhere, long ignoreIndex) {
        Tensor targets = targetsAnywhere.to(logits.device());
        Backend be = Backends.of(logits, targets);
        Tensor[] r = be.crossEntropy(logits, targets, ignoreIndex);
        long[] t = targets.toLongArray();
        int counted = 0;
        for (long v : t) if (v != ignoreIndex) counted++;
        float inv = counted == 0 ? Float.NaN : 1f / counted;
        Tensor loss = be.reduce(Backend.ReduceOp.SUM, r[0], new int[] {0}, false);
        loss = be.affine(loss, inv, 0f);
        Tensor lse = r[1];
        int rows = logits.size(0);
        return Autograd.record(loss, "cross_entropy", g -> {
            Tensor dloss = Views.expand(Views.reshape(Arithmetic.affine(g, inv, 0f), 1), rows);
            return new Tensor[] {be.crossEntropyBackward(logits, targets, lse, dloss, ignoreIndex), null};
        }, logits, targets);
    }

    static void requireIndices(Tensor t, String what) {
        if (t.dtype() != DType.INT64 && t.dtype() != DType.INT32) {
            throw new IllegalArgumentException(what + " must be int64 or int32, got " + t.dtype());
        }
    }
}
