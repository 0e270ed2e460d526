package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backend.*;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Unary ops and their gradients, broadcasting binary ops, affine and axpby. Kernels:
 * kernels/elementwise.cu. CPU: CpuElementwise (same formulas).
 *
 * <p>Float32 inputs go to the kernels as views (storage base + Layout, broadcast ones with
 * stride 0), so transposes and broadcasts cost no copy; each thread takes 4 consecutive
 * outputs, in float4 where the operands allow.
 */
final class CudaElementwise {

    private CudaElementwise() {}

    private static final String M = "elementwise";

    /** Blocks for the kernels of packed.cuh, whose threads take 4 elements each. */
    static int packedBlocks(CudaBackend be, int n) {
        return blocks(be, ceilDiv(n, 4), THREADS);
    }

    /** t itself when float32 (any view), else a contiguous float32 copy, as CpuElementwise.dense converts. */
    static Tensor floatView(Tensor t) {
        return t.dtype() == DType.FLOAT32 ? t : contiguousFloat(t);
    }

    private static void requireFloat(Tensor t, Object op) {
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(op.toString().toLowerCase(java.util.Locale.ROOT) + " needs float32 tensors, got " + t.dtype());
        }
    }

    static Tensor unary(CudaBackend be, UnaryOp op, float alpha, Tensor x) {
        x = floatView(x);
        Tensor out = be.empty(DType.FLOAT32, x.shapeRef());
        int n = out.numel();
        if (n > 0) be.device.launch(M, "unary", packedBlocks(be, n), 1, 1, THREADS, 0, ptr(out), base(x), layout(x), op.ordinal(), alpha, n);
        return out;
    }

    /** y may be null: the kernel then recomputes op(x) where the derivative needs it (x stands in for y's pointer). */
    static Tensor unaryBackward(CudaBackend be, UnaryOp op, float alpha, Tensor x, Tensor y, Tensor dy) {
        for (Tensor t : new Tensor[] {y, dy}) {
            if (t != null && !java.util.Arrays.equals(t.shapeRef(), x.shapeRef())) {
                throw new IllegalArgumentException(op + " backward: x of shape " + Shape.str(x.shapeRef()) + " but a tensor of shape " + Shape.str(t.shapeRef()));
            }
        }
        x = floatView(x);
        Tensor yv = y == null ? x : floatView(y);
        dy = floatView(dy);
        Tensor out = be.empty(DType.FLOAT32, x.shapeRef());
        int n = out.numel();
        if (n > 0) {
            be.device.launch(M, "unary_backward", packedBlocks(be, n), 1, 1, THREADS, 0,
                    ptr(out), base(x), layout(x), base(yv), layout(yv), y == null ? 0 : 1, base(dy), layout(dy), op.ordinal(), alpha, n);
        }
        return out;
    }

    static Tensor binary(CudaBackend be, BinaryOp op, Tensor a, Tensor b) {
        requireFloat(a, op);
        requireFloat(b, op);
        int[] shape = Shape.broadcast(a.shapeRef(), b.shapeRef());
        Tensor out = be.empty(DType.FLOAT32, shape);
        int n = out.numel();
        if (n > 0) {
            be.device.launch(M, "binary", packedBlocks(be, n), 1, 1, THREADS, 0,
                    ptr(out), base(a), broadcastLayout(a, shape), base(b), broadcastLayout(b, shape), op.ordinal(), n);
        }
        return out;
    }

    static Tensor affine(CudaBackend be, Tensor x, float scale, float shift) {
        requireFloat(x, "affine");
        Tensor out = be.empty(DType.FLOAT32, x.shapeRef());
        int n = out.numel();
        if (n > 0) be.device.launch(M, "affine", packedBlocks(be, n), 1, 1, THREADS, 0, ptr(out), base(x), layout(x), scale, shift, n);
        return out;
    }

    static void axpby(CudaBackend be, float a, Tensor x, float b, Tensor y) {
        if (!java.util.Arrays.equals(x.shapeRef(), y.shapeRef())) {
            throw new IllegalArgumentException("axpby: x of shape " + Shape.str(x.shapeRef()) + " and y of shape " + Shape.str(y.shapeRef()));
        }
        if (!y.isContiguous() || y.dtype() != DType.FLOAT32) throw new IllegalArgumentException("axpby writes into a contiguous float32 y, got " + y.dtype());
        x = floatView(x);
        int n = y.numel();
        if (n > 0) be.device.launch(M, "axpby", packedBlocks(be, n), 1, 1, THREADS, 0, ptr(y), base(x), layout(x), a, b, n);
    }

    /** axpby for each pair: those with a contiguous float32 x go through one axpbys launch per LIST_TENSORS pairs. */
    static void axpbys(CudaBackend be, float a, List<Tensor> xs, float b, List<Tensor> ys) {
        Backend.requireSameLengths("axpbys", xs, ys);
        List<Tensor[]> rows = new ArrayList<>();
        for (int i = 0; i < xs.size(); i++) {
            Tensor x = xs.get(i), y = ys.get(i);
            if (x.isContiguous() && x.dtype() == DType.FLOAT32 && y.isContiguous() && y.dtype() == DType.FLOAT32
                    && java.util.Arrays.equals(x.shapeRef(), y.shapeRef())) {
                if (y.numel() > 0) rows.add(new Tensor[] {y, x});
            } else {
                axpby(be, a, x, b, y);  // its checks name what is wrong
            }
        }
        launchList(be, M, "axpbys", rows, a, b);
    }
}
