package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Reductions. Kernels: kernels/reduce.cu. CPU: CpuReduce (same results: float32 out, NaN
 * propagating max / min, MEAN of nothing NaN, variance in two passes).
 *
 * <p>A pass reduces a contiguous tensor seen as (outer, r, inner) and accumulates in double:
 * many rows (inner = 1) by a group of lanes per row, columns and few long rows by blocks over
 * column tiles. A set of dims that is not one block is reduced run by run (the innermost run
 * first, the intermediate results kept in double), so no permuting copy is needed. When the
 * blocks are too few to fill the GPU, r is cut into segments whose partial results go to a
 * double buffer that the next launch reduces. Double buffers are INT64 tensors: 8-byte words
 * the kernels read and write as doubles.
 */
final class CudaReduce {

    private CudaReduce() {}

    private static final String M = "reduce";
    /** Threads per multiprocessor the splitting aims to keep busy. */
    private static final int THREADS_PER_SM = 2048;
    /** Most threads of a columns block (COL_THREADS in reduce.cu). */
    private static final int COL_THREADS = 256;
    /** The most blocks along a grid's y dimension. */
    private static final int MAX_GRID_Y = 65535;

    /** A pass's input or output: a float32 tensor, or doubles in an INT64 tensor. */
    private record Buffer(Tensor t, boolean isDouble) {}

    private static Tensor doubles(CudaBackend be, long count) {
        return be.empty(DType.INT64, Math.toIntExact(count));
    }

    /**
     * Σ over the tensors of Σ x², 0-d: per block of a list launch a partial sum of squares (in
     * double, rounded to float), then the SUM of the partials. Deterministic: the blocks' shares
     * and the order of the sums are fixed by the shapes.
     */
    static Tensor sumOfSquares(CudaBackend be, List<Tensor> xs) {
        List<Tensor[]> rows = new ArrayList<>();
        int total = 0;
        for (Tensor x : xs) {
            if (x.numel() == 0) continue;
            rows.add(new Tensor[] {contiguousFloat(x)});
            total += CudaElementwise.packedBlocks(be, x.numel());
        }
        Tensor partials = be.empty(DType.FLOAT32, Math.max(1, total));
        if (total == 0) be.fill(partials, 0);  // no tensors (or only empty ones): the sum is 0
        int[] at = {0};
        forEachList(be, rows, (list, blocks) -> {
            be.device.launch(M, "sum_squares_partials", blocks, 1, 1, THREADS, 0, list, ptr(partials.slice(0, at[0], at[0] + blocks)));
            at[0] += blocks;
        });
        return reduce(be, ReduceOp.SUM, partials, new int[] {0}, false);
    }

    /** The kernel's op code: SUM's for MEAN (scaled at the end), else the ReduceOp ordinal. */
    private static int code(ReduceOp op) {
        return op == ReduceOp.MEAN ? ReduceOp.SUM.ordinal() : op.ordinal();
    }

    static Tensor reduce(CudaBackend be, ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        int[] shape = x.shapeRef();
        long r = 1;
        for (int d : dims) r *= shape[d];
        if (r == 0 && (op == ReduceOp.MAX || op == ReduceOp.MIN)) {
            throw new IllegalArgumentException(op.name().toLowerCase() + " over an empty dimension of shape " + Shape.str(shape));
        }
        Tensor out = be.empty(DType.FLOAT32, Shape.reduced(shape, dims, keepDim));
        if (out.numel() == 0) return out;
        // Reduced dims of size 1 change nothing; with none left, one pass with r = 1 copies x.
        int[] cur = shape.clone();
        int[] active = Arrays.stream(dims).filter(d -> shape[d] != 1).toArray();
        Buffer src = new Buffer(contiguousFloat(x), false);
        double scale = op == ReduceOp.MEAN ? 1f / r : 1;
        int hi = active.length;   // runs still to reduce: active[0 .. hi)
        do {
            // The innermost remaining run of consecutive dims [first, last]; with no dims an
            // empty run at the end (outer = numel, r = 1, inner = 1).
            int first = cur.length, last = cur.length - 1;
            if (hi > 0) {
                last = active[--hi];
                first = last;
                while (hi > 0 && active[hi - 1] == first - 1) {
                    first--;
                    hi--;
                }
            }
            int outer = numel(cur, 0, first), runR = numel(cur, first, last + 1), inner = numel(cur, last + 1, cur.length);
            for (int d = first; d <= last; d++) cur[d] = 1;
            Buffer dst = hi == 0 ? new Buffer(out, false) : new Buffer(doubles(be, (long) outer * inner), true);
            pass(be, code(op), src, outer, runR, inner, null, dst, hi == 0 ? scale : 1);
            src = dst;
        } while (hi > 0);
        return out;
    }

    /** Two passes like CpuReduce: the mean, then the squared deviations from it (no cancellation). */
    static Tensor variance(CudaBackend be, Tensor x, int[] dims, int correction, boolean keepDim) {
        int[] shape = x.shapeRef();
        Tensor out = be.empty(DType.FLOAT32, Shape.reduced(shape, dims, keepDim));
        if (out.numel() == 0) return out;
        // The reduced dims as one block (outer, r, inner): as they are, or moved last by a permuting copy.
        int first = dims.length == 0 ? 0 : dims[0], last = dims.length == 0 ? -1 : dims[dims.length - 1];
        Tensor c;
        if (last - first + 1 == dims.length) {
            c = contiguousFloat(x);
        } else {
            int[] order = new int[shape.length];
            int k = 0;
            for (int d = 0; d < shape.length; d++) if (Arrays.binarySearch(dims, d) < 0) order[k++] = d;
            for (int d : dims) order[k++] = d;
            c = contiguousFloat(x.detach().permute(order));
            first = shape.length - dims.length;
            last = shape.length - 1;
        }
        int[] cs = c.shapeRef();
        int outer = numel(cs, 0, first), r = numel(cs, first, last + 1), inner = numel(cs, last + 1, cs.length);
        Buffer src = new Buffer(c, false);
        Tensor mean = be.empty(DType.FLOAT32, outer * inner);
        int sum = ReduceOp.SUM.ordinal();
        pass(be, sum, src, outer, r, inner, null, new Buffer(mean, false), 1f / r);
        pass(be, sum, src, outer, r, inner, mean, new Buffer(out, false), 1.0 / (float) (r - correction));
        return out;
    }

    static Tensor argmax(CudaBackend be, Tensor x, int dim, boolean keepDim) {
        int[] shape = x.shapeRef();
        int rank = shape.length, n = shape[dim];
        if (n == 0) throw new IllegalArgumentException("argmax over an empty dimension of shape " + Shape.str(shape));
        Tensor out = be.empty(DType.INT64, Shape.reduced(shape, new int[] {dim}, keepDim));
        int rows = out.numel();
        if (rows == 0) return out;
        // dim last, rows contiguous (a copy unless dim is already last and x contiguous float32).
        int[] order = new int[rank];
        for (int d = 0, k = 0; d < rank; d++) if (d != dim) order[k++] = d;
        order[rank - 1] = dim;
        Tensor rowsOf = contiguousFloat(x.detach().permute(order));
        int g = lanes(n);
        be.device.launch(M, "argmax_rows", blocks(be, (long) rows * g, THREADS), 1, 1, THREADS, 0, ptr(out), ptr(rowsOf), rows, n, g);
        return out;
    }

    /** The product of shape[from .. to). */
    private static int numel(int[] shape, int from, int to) {
        int n = 1;
        for (int d = from; d < to; d++) n *= shape[d];
        return n;
    }

    /** Segments per row so that `workers` workers per segment reach `target`, at most maxSplits (at least 1). */
    private static int splits(long workers, int target, int maxSplits) {
        return workers >= target ? 1 : Math.clamp((target + workers - 1) / workers, 1, Math.max(1, maxSplits));
    }

    /** Lanes per row: a power of two near r / 8 (each lane takes about 8 elements), at most a warp (G in reduce.cu). */
    private static int lanes(int r) {
        int g = 1;
        while (g < 32 && g * 8 < r) g *= 2;
        return g;
    }

    /**
     * dst[o, j] = op over k < r of src[o, k, j] (centered: (src - center[o, j])²), times scale
     * when dst is float; by as many kernel launches as the splitting takes.
     */
    private static void pass(CudaBackend be, int op, Buffer src, int outer, int r, int inner, Tensor center, Buffer dst, double scale) {
        int target = be.device.multiprocessors * THREADS_PER_SM;
        while (true) {
            String type = src.isDouble ? "_f64" : "_f32";
            int g = lanes(r);
            if (inner == 1 && ((long) outer * g >= target / 8 || r < 16 * COL_THREADS)) {
                // Many rows, or rows too short for a block: a group of g lanes per row.
                be.device.launch(M, "reduce_rows" + type, blocks(be, (long) outer * g, THREADS), 1, 1, THREADS, 0,
                        ptr(src.t), outer, r, g, ptrOrNull(center), floatOut(dst), doubleOut(dst), scale, op);
                return;
            }
            // Column tiles of w columns with rp row lanes each (few long rows: one column, 256 lanes).
            int w = Math.min(inner, COL_THREADS), rp = COL_THREADS / w, tiles = ceilDiv(inner, w);
            long blocks = (long) outer * tiles;
            // Segments of at least 16 rows per lane, enough blocks to fill the GPU.
            int splits = splits(blocks, target / COL_THREADS, Math.min(MAX_GRID_Y, r / (16 * rp)));
            int seg = ceilDiv(Math.max(r, 1), splits);
            splits = Math.max(1, ceilDiv(r, seg));
            Buffer to = splits > 1 ? new Buffer(doubles(be, (long) outer * splits * inner), true) : dst;
            be.device.launch(M, "reduce_columns" + type, Math.toIntExact(blocks), splits, 1, rp * w, 0,
                    ptr(src.t), outer, r, inner, w, seg, ptrOrNull(center), floatOut(to), doubleOut(to), scale, op);
            if (to == dst) return;
            // Reduce the segments' results: [outer, splits, inner] with r = splits, no centering.
            src = to;
            r = splits;
            center = null;
        }
    }

    private static CudaPtr floatOut(Buffer b) {
        return ptrOrNull(b.isDouble ? null : b.t);
    }

    private static CudaPtr doubleOut(Buffer b) {
        return ptrOrNull(b.isDouble ? b.t : null);
    }
}
