package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.NormChecks;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * GroupNorm (affine tables null, [C] or [B, C]; optional fused silu) and RMSNorm, forward and
 * backward. Kernels: kernels/norm.cu. CPU: CpuNorm, whose formulas the kernels mirror.
 *
 * <p>GroupNorm statistics are a two-kernel reduction: one block per chunk of {@link #CHUNK}
 * floats of a group (chunk mean and squared deviations), then one block per group combining
 * the chunks exactly; so batch 1 still fills the GPU. Forward and backward go over the groups
 * in blocks of a third of L2 (each block's statistics, then its output), so that the output
 * pass re-reads what the statistics pass just brought into L2.
 */
final class CudaNorm {

    private CudaNorm() {}

    private static final String M = "norm";
    /** Floats per block of the chunked reductions (GN_CHUNK in norm.cu). */
    private static final int CHUNK = 2048;
    /** Rows per partial sum of RMSNorm's weight gradient (RMS_ROWS in norm.cu, ROWS_PER_PARTIAL in CpuNorm). */
    private static final int RMS_ROWS = 64;
    /** Threads of the per-group and per-chunk blocks (GN_THREADS in norm.cu). */
    private static final int GN_THREADS = 256;
    /** The most blocks along a grid's y dimension. */
    private static final int MAX_GRID_Y = 65535;

    /** A contiguous float32 version of t, or null for null. */
    private static Tensor dense(Tensor t) {
        return t == null ? null : contiguousFloat(t);
    }

    /** 1 for a [B, C] affine table (one row per sample), 0 for [C] or none. */
    private static int perSample(Tensor table) {
        return table != null && table.dim() == 2 ? 1 : 0;
    }

    /**
     * 4 when rows of {@code len} floats of these contiguous tensors may move as float4 (len a
     * multiple of 4 and every tensor 16-byte aligned), else 1: the V of the kernels' _v4 / _v1.
     */
    private static int vector(int len, Tensor... ts) {
        if (len % 4 != 0) return 1;
        for (Tensor t : ts) if (t.offset() % 4 != 0) return 1;
        return 4;
    }

    /** Chunks of CHUNK floats covering len, at least one (an empty group still gets its NaN statistics, as on the CPU). */
    private static int chunks(int len) {
        int c = Math.max(1, ceilDiv(len, CHUNK));
        if (c > MAX_GRID_Y) throw new IllegalArgumentException("group norm: " + len + " elements per group or channel exceed the kernels' limit of " + (long) MAX_GRID_Y * CHUNK);
        return c;
    }

    /** Groups of groupBytes each per block of blockBytes; all of them when not even one fits, as blocks would then save nothing. */
    private static int groupsPerBlock(int groups, long groupBytes, long blockBytes) {
        if (groupBytes > blockBytes) return groups;
        return (int) Math.max(1, Math.min(groups, blockBytes / Math.max(groupBytes, 1)));
    }

    /** The input bytes of a block of groups: a third of L2, which leaves room for the block's output beside its input. */
    private static long blockBytes(CudaBackend be) {
        return be.device.l2Bytes / 3;
    }

    static Tensor[] groupNorm(CudaBackend be, Tensor x, int groups, float eps, Tensor scale, Tensor shift, boolean silu) {
        return groupNorm(be, x, groups, eps, scale, shift, silu, blockBytes(be));
    }

    /**
     * The groups go in blocks of at most {@code blockBytes} of input (one block for all when a
     * group is larger), each block's statistics, then its output: gn_apply's re-read of a block
     * then comes from L2, where gn_chunk_stats just left it, so a tensor larger than L2 is read
     * from memory once, not twice.
     */
    static Tensor[] groupNorm(CudaBackend be, Tensor x, int groups, float eps, Tensor scale, Tensor shift, boolean silu, long blockBytes) {
        NormChecks.groupNorm(x, groups, scale, shift);
        int[] shape = x.shapeRef();
        int batch = shape[0], channels = shape[1];
        x = dense(x);
        scale = dense(scale);
        shift = dense(shift);
        int hw = x.numel() / Math.max(1, batch * channels), cpg = channels / groups, n = cpg * hw, groupRows = batch * groups;
        Tensor y = be.empty(DType.FLOAT32, shape);
        Tensor mean = be.empty(DType.FLOAT32, batch, groups), rstd = be.empty(DType.FLOAT32, batch, groups);
        if (groupRows == 0) return new Tensor[] {y, mean, rstd};
        int v = vector(hw, x), chunks = chunks(n);
        int block = groupsPerBlock(groupRows, 4L * n, blockBytes);
        Tensor partial = be.empty(DType.FLOAT32, block, chunks, 2);
        Tensor coef = be.empty(DType.FLOAT32, batch, channels, 2);
        // Rows of groups: x and y [groupRows, n], coef [groupRows, C/G · 2] (group t's channels are rows t·C/G ..).
        Tensor xs = x.reshape(groupRows, n), ys = y.reshape(groupRows, n), coefs = coef.reshape(groupRows, cpg * 2);
        for (int first = 0; first < groupRows; first += block) {
            int count = Math.min(block, groupRows - first), last = first + count;
            Tensor xb = xs.slice(0, first, last);
            // Chunk statistics, then per group: mean, rstd and the (a, b) of y = x·a + b per (sample, channel).
            be.device.launch(M, "gn_chunk_stats_v" + v, count, chunks, 1, GN_THREADS, 0, ptr(xb), n, ptr(partial));
            be.device.launch(M, "gn_stats", count, 1, 1, GN_THREADS, 0, ptr(partial), chunks, n, eps, first, groups, channels,
                    ptrOrNull(scale), perSample(scale), ptrOrNull(shift), perSample(shift), ptr(mean), ptr(rstd), ptr(coef));
            int packs = count * n / v;
            be.device.launch(M, "gn_apply_v" + v, blocks(be, packs, THREADS), 1, 1, THREADS, 0,
                    ptr(xb), ptr(coefs.slice(0, first, last)), hw, packs, silu ? 1 : 0, ptr(ys.slice(0, first, last)));
        }
        release(partial, coef);
        return new Tensor[] {y, mean, rstd};
    }

    static Tensor[] groupNormBackward(CudaBackend be, Tensor dy, Tensor x, Tensor mean, Tensor rstd, int groups, Tensor scale, Tensor shift, boolean silu) {
        return groupNormBackward(be, dy, x, mean, rstd, groups, scale, shift, silu, blockBytes(be));
    }

    /** The backward's twin of the forward's blocks: each block of groups (about {@code blockBytes} of dy and x) is summed, then gives its dx. */
    static Tensor[] groupNormBackward(CudaBackend be, Tensor dy, Tensor x, Tensor mean, Tensor rstd, int groups, Tensor scale, Tensor shift, boolean silu,
                                      long blockBytes) {
        NormChecks.groupNormBackward(dy, x, mean, rstd, groups, scale, shift);
        int[] shape = x.shapeRef();
        int batch = shape[0], channels = shape[1];
        x = dense(x);
        dy = dense(dy);
        mean = dense(mean);
        rstd = dense(rstd);
        scale = dense(scale);
        shift = dense(shift);
        int hw = x.numel() / Math.max(1, batch * channels), cpg = channels / groups, n = cpg * hw, rows = batch * channels, groupRows = batch * groups;
        Tensor dx = be.empty(DType.FLOAT32, shape);
        Tensor dscale = scale == null ? null : be.empty(DType.FLOAT32, batch, channels);
        Tensor dshift = shift == null ? null : be.empty(DType.FLOAT32, batch, channels);
        if (rows == 0) return new Tensor[] {dx, dscale, dshift};
        int v = vector(hw, x, dy), chunks = chunks(hw);
        int block = groupsPerBlock(groupRows, 8L * n, blockBytes);
        // The forward's (a, b) per (sample, channel), to recompute silu's input.
        Tensor coef = be.empty(DType.FLOAT32, rows, 2);
        be.device.launch(M, "gn_coefficients", blocks(be, rows, THREADS), 1, 1, THREADS, 0, ptr(mean), ptr(rstd), rows, groups, channels,
                ptrOrNull(scale), perSample(scale), ptrOrNull(shift), perSample(shift), ptr(coef));
        Tensor partial = be.empty(DType.FLOAT32, block * cpg, chunks, 2);
        Tensor bcoef = be.empty(DType.FLOAT32, rows, 4);
        Tensor dys = dy.reshape(groupRows, n), xs = x.reshape(groupRows, n), dxs = dx.reshape(groupRows, n), bcoefs = bcoef.reshape(groupRows, cpg * 4);
        for (int first = 0; first < groupRows; first += block) {
            int count = Math.min(block, groupRows - first), last = first + count;
            // Per (sample, channel) chunk: Σ g and Σ g·(x - mean); per group: the affine gradients and dx's coefficients.
            be.device.launch(M, "gn_backward_rows_v" + v, count * cpg, chunks, 1, GN_THREADS, 0, ptr(dy), ptr(x), ptr(coef), ptr(mean), hw, first, groups,
                    channels, silu ? 1 : 0, ptr(partial));
            be.device.launch(M, "gn_backward_groups", count, 1, 1, GN_THREADS, 0, ptr(partial), chunks, ptr(mean), ptr(rstd), first, groups, channels, hw,
                    ptrOrNull(scale), perSample(scale), ptrOrNull(shift), perSample(shift), ptrOrNull(dscale), ptrOrNull(dshift), ptr(bcoef));
            int packs = count * n / v;
            be.device.launch(M, "gn_backward_dx_v" + v, blocks(be, packs, THREADS), 1, 1, THREADS, 0, ptr(dys.slice(0, first, last)), ptr(xs.slice(0, first, last)),
                    ptr(bcoefs.slice(0, first, last)), hw, packs, silu ? 1 : 0, ptr(dxs.slice(0, first, last)));
        }
        release(coef, partial, bcoef);
        return new Tensor[] {dx, dscale, dshift};
    }

    /** Threads of a block that owns one row of d floats moved V at a time: a warp multiple, at most 256. */
    private static int rowThreads(int d, int v) {
        return Math.min(256, Math.max(32, (d / v + 31) / 32 * 32));
    }

    static Tensor[] rmsNorm(CudaBackend be, Tensor x, Tensor weight, float eps) {
        NormChecks.rmsNorm(x, weight);
        int d = x.size(-1);
        x = dense(x);
        weight = dense(weight);
        int rows = x.numel() / Math.max(d, 1);
        Tensor y = be.empty(DType.FLOAT32, x.shapeRef());
        Tensor rstd = be.empty(DType.FLOAT32, Shape.reduced(x.shapeRef(), new int[] {x.dim() - 1}, false));
        if (rows == 0) return new Tensor[] {y, rstd};
        int v = vector(d, x, weight);
        be.device.launch(M, "rms_forward_v" + v, rows, 1, 1, rowThreads(d, v), 0, ptr(x), ptr(weight), d, eps, ptr(y), ptr(rstd));
        return new Tensor[] {y, rstd};
    }

    static Tensor[] rmsNormBackward(CudaBackend be, Tensor dy, Tensor x, Tensor weight, Tensor rstd) {
        NormChecks.rmsNormBackward(dy, x, weight, rstd);
        int d = x.size(-1);
        x = dense(x);
        dy = dense(dy);
        weight = dense(weight);
        rstd = dense(rstd);
        int rows = x.numel() / Math.max(d, 1);
        Tensor dx = be.empty(DType.FLOAT32, x.shapeRef());
        Tensor dw = be.empty(DType.FLOAT32, d);
        if (rows == 0) {
            be.fill(dw, 0);
            return new Tensor[] {dx, dw};
        }
        int v = vector(d, x, dy, weight);
        be.device.launch(M, "rms_backward_dx_v" + v, rows, 1, 1, rowThreads(d, v), 0, ptr(dy), ptr(x), ptr(weight), ptr(rstd), d, ptr(dx));
        // dw: partial sums over fixed blocks of rows, then the blocks in order (CpuNorm's grouping).
        int rowBlocks = ceilDiv(rows, RMS_ROWS);
        Tensor partial = be.empty(DType.FLOAT32, rowBlocks, d);
        be.device.launch(M, "rms_dweight_partial", rowBlocks, ceilDiv(d, THREADS), 1, THREADS, 0, ptr(dy), ptr(x), ptr(rstd), rows, d, ptr(partial));
        be.device.launch(M, "rms_dweight_sum", blocks(be, d, THREADS), 1, 1, THREADS, 0, ptr(partial), rowBlocks, d, ptr(dw));
        release(partial);
        return new Tensor[] {dx, dw};
    }
}
