package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.AttentionGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Scaled dot-product attention without a Tq x Tk matrix in memory: online-softmax forward over
 * key tiles, backward recomputing the probabilities from the saved log-sum-exp. Kernels:
 * kernels/attention.cu (whose header gives the formulas). CPU: CpuAttention.
 *
 * <p>Forward: with few queries (a sampling step against a key/value cache) one block per query
 * row and range of keys, merged by a second kernel; otherwise one block per tile of 64 queries.
 * Backward: delta = rowsum(dO∘O), then dK, dV per key tile and dQ per query tile; with few keys
 * (the AR model's two-position intra sequences) one warp per (batch, head) walks the pairs.
 * q, k, v, out and dout are read in place through their (batch, head, row) strides.
 */
final class CudaAttention {

    private CudaAttention() {}

    private static final String M = "attention";
    /** Threads of every attention kernel (TILE_THREADS, SPLIT_THREADS, ROWS_THREADS in attention.cu); 4 warps. */
    private static final int BLOCK = 128, WARPS = BLOCK / 32;
    /** Tiles of attention.cu: forward FWD_BQ queries x FWD_BK keys, backward BWD_B x BWD_B. */
    private static final int FWD_BQ = 64, FWD_BK = 32, BWD_B = 32;
    /** Head dims with kernels (DMAX in attention.cu); D is rounded up to the next. */
    private static final int[] HEAD_DIMS = {32, 64, 96, 128};
    /** Up to this many queries the forward splits the keys across blocks instead of tiling the queries. */
    private static final int FEW_QUERIES = 8;
    /** Up to this many keys the backward walks (query, key) pairs, one warp per (batch, head). */
    private static final int FEW_KEYS = 16;
    /**
     * Keys per split: at least 32 (8 per warp); at most 256, since a warp walks its keys one after
     * another. Within those bounds, enough splits for SPLIT_BLOCKS_PER_SM blocks per multiprocessor.
     */
    private static final int MIN_SPLIT_KEYS = 32, MAX_SPLIT_KEYS = 256, SPLIT_BLOCKS_PER_SM = 4;
    /** Dynamic shared memory a kernel gets without asking. */
    private static final int DEFAULT_SHARED = 48 * 1024;

    /** The shapes of one call, with the checks of what these kernels support. */
    private static AttentionGeometry geometry(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal) {
        AttentionGeometry g = AttentionGeometry.of(q, k, v, mask, causal);
        for (Tensor t : new Tensor[] {q, k, v}) {
            if (t.dtype() != DType.FLOAT32) throw new IllegalArgumentException("attention on CUDA needs float32 q, k, v, got " + t.dtype());
        }
        if (g.d() < 1 || g.d() > HEAD_DIMS[HEAD_DIMS.length - 1]) {
            throw new IllegalArgumentException("attention on CUDA supports head dims 1 to " + HEAD_DIMS[HEAD_DIMS.length - 1] + ", got " + g.d());
        }
        return g;
    }

    /** The kernels' DMAX for this head dim. */
    private static int dmax(AttentionGeometry g) {
        for (int m : HEAD_DIMS) if (g.d() <= m) return m;
        throw new AssertionError(g.d());
    }

    /** The Problem struct of attention.cu: shapes, mask strides, then (batch, head, row) strides of q, k, v, out, dout. */
    private static int[] problem(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor out, Tensor dout) {
        int[] p = new int[22];
        int[] head = {g.heads(), g.tq(), g.tk(), g.d(), g.causal() ? 1 : 0, g.maskBatchStride(), g.maskHeadStride()};
        System.arraycopy(head, 0, p, 0, head.length);
        Tensor[] operands = {q, k, v, out, dout};
        for (int i = 0; i < operands.length; i++) {
            if (operands[i] == null) continue;
            for (int j = 0; j < 3; j++) p[head.length + 3 * i + j] = operands[i].stride(j);
        }
        return p;
    }

    /** t when its rows are unit-stride floats (what the kernels index), else a contiguous float copy. */
    private static Tensor unitRows(Tensor t) {
        return t.dtype() == DType.FLOAT32 && (t.stride(3) == 1 || t.size(3) == 1) ? t : contiguousFloat(t);
    }

    private static void requireShape(String what, Tensor t, int... shape) {
        if (!Arrays.equals(t.shapeRef(), shape)) {
            throw new IllegalArgumentException("attention backward needs " + what + " of shape " + Shape.str(shape) + ", got " + Shape.str(t.shapeRef()));
        }
    }

    /** Launches a tiled kernel, first raising its shared memory limit when it needs more than the default. */
    private static void launchTiled(CudaBackend be, String kernel, int gx, int gy, int shared, Object... args) {
        if (shared > DEFAULT_SHARED) be.device.allowSharedMemory(M, kernel, shared);
        be.device.launch(M, kernel, gx, gy, 1, BLOCK, shared, args);
    }

    static Tensor[] forward(CudaBackend be, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        AttentionGeometry g = geometry(q, k, v, mask, causal);
        Tensor bits = mask == null ? null : contiguous(mask);
        q = unitRows(q);
        k = unitRows(k);
        v = unitRows(v);
        Tensor out = be.empty(DType.FLOAT32, g.batch(), g.heads(), g.tq(), g.d());
        Tensor lse = be.empty(DType.FLOAT32, g.batch(), g.heads(), g.tq());
        int rows = g.bh() * g.tq(), dmax = dmax(g);
        if (rows == 0) return new Tensor[] {out, lse};
        int[] problem = problem(g, q, k, v, null, null);
        if (g.tq() <= FEW_QUERIES) {
            int wanted = Math.max(ceilDiv(SPLIT_BLOCKS_PER_SM * be.device.multiprocessors, rows), ceilDiv(g.tk(), MAX_SPLIT_KEYS));
            int splits = Math.clamp(wanted, 1, Math.max(1, ceilDiv(g.tk(), MIN_SPLIT_KEYS)));
            int chunk = ceilDiv(g.tk(), splits);
            splits = ceilDiv(g.tk(), chunk);
            // Per (row, split): o [D], then every m, then every l (see fwd_split).
            Tensor partial = splits == 1 ? null : be.empty(DType.FLOAT32, rows * splits * (g.d() + 2));
            be.device.launch(M, "attn_fwd_split_" + dmax, rows, splits, 1, BLOCK, 0,
                    ptr(q), ptr(k), ptr(v), ptrOrNull(bits), problem, scale, chunk, ptr(out), ptr(lse), ptrOrNull(partial));
            if (partial != null) {
                be.device.launch(M, "attn_fwd_combine", ceilDiv(rows, WARPS), 1, 1, BLOCK, 0, ptr(partial), rows, splits, g.d(), ptr(out), ptr(lse));
                release(partial);
            }
        } else {
            // fwd_tiled_smem: Q, K, V tiles of pitch DMAX + 1 and a P tile of pitch FWD_BK + 1.
            int shared = ((FWD_BQ + 2 * FWD_BK) * (dmax + 1) + FWD_BQ * (FWD_BK + 1)) * Float.BYTES;
            launchTiled(be, "attn_fwd_tiled_" + dmax, g.bh(), ceilDiv(g.tq(), FWD_BQ), shared,
                    ptr(q), ptr(k), ptr(v), ptrOrNull(bits), problem, scale, ptr(out), ptr(lse));
        }
        return new Tensor[] {out, lse};
    }

    static Tensor[] backward(CudaBackend be, Tensor q, Tensor k, Tensor v, Tensor out, Tensor logsumexp, Tensor dout, Tensor mask, boolean causal, float scale) {
        AttentionGeometry g = geometry(q, k, v, mask, causal);
        Tensor bits = mask == null ? null : contiguous(mask);
        requireShape("out", out, q.shapeRef());
        requireShape("dout", dout, q.shapeRef());
        requireShape("logsumexp", logsumexp, g.batch(), g.heads(), g.tq());
        q = unitRows(q);
        k = unitRows(k);
        v = unitRows(v);
        out = unitRows(out);
        dout = unitRows(dout);
        Tensor lse = contiguousFloat(logsumexp);
        Tensor dq = be.empty(DType.FLOAT32, q.shapeRef());
        Tensor dk = be.empty(DType.FLOAT32, k.shapeRef());
        Tensor dv = be.empty(DType.FLOAT32, v.shapeRef());
        int rows = g.bh() * g.tq(), dmax = dmax(g);
        if (rows == 0) {                                   // no queries: nothing flows to the keys
            be.fill(dk, 0);
            be.fill(dv, 0);
            return new Tensor[] {dq, dk, dv};
        }
        int[] problem = problem(g, q, k, v, out, dout);
        Tensor delta = be.empty(DType.FLOAT32, rows);
        be.device.launch(M, "attn_bwd_delta", ceilDiv(rows, WARPS), 1, 1, BLOCK, 0, ptr(out), ptr(dout), problem, rows, ptr(delta));
        Object[] inputs = {ptr(q), ptr(k), ptr(v), ptr(dout), ptr(lse), ptr(delta), ptrOrNull(bits), problem, scale};
        if (g.tk() <= FEW_KEYS) {
            be.device.launch(M, "attn_bwd_rows_" + dmax, ceilDiv(g.bh(), WARPS), 1, 1, BLOCK, 0, concat(inputs, g.bh(), ptr(dq), ptr(dk), ptr(dv)));
        } else {
            // bwd_dkdv_smem: K, V, Q, dO tiles, Pᵀ and dSᵀ tiles, lse and delta of a query tile.
            int tile = BWD_B * (dmax + 1), weights = BWD_B * (BWD_B + 1);
            launchTiled(be, "attn_bwd_dkdv_" + dmax, g.bh(), ceilDiv(g.tk(), BWD_B), (4 * tile + 2 * weights + 2 * BWD_B) * Float.BYTES,
                    concat(inputs, ptr(dk), ptr(dv)));
            // bwd_dq_smem: Q, dO, K, V tiles and a dS tile.
            launchTiled(be, "attn_bwd_dq_" + dmax, g.bh(), ceilDiv(g.tq(), BWD_B), (4 * tile + weights) * Float.BYTES, concat(inputs, ptr(dq)));
        }
        release(delta);
        return new Tensor[] {dq, dk, dv};
    }

    private static Object[] concat(Object[] a, Object... b) {
        Object[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
