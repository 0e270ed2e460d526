package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.MatmulGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Locale;
import java.util.Objects;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Batched matrix multiply with broadcast batch dims. Kernels: kernels/matmul.cu on the tile
 * machinery of kernels/gemm.cuh, and its skinny kernel for a few rows times a Linear's weight
 * (sampling); in FLOAT32, cuBLAS instead where it loads ({@link CudaBlas}).
 * CPU: CpuMatmul. Operands whose last two dims are row-major or transposed are read in place.
 */
public final class CudaMatmul {

    private CudaMatmul() {}

    /**
     * How matmuls and convolutions multiply: FLOAT32 on the CUDA cores (strict, the default), or
     * on the tensor cores with inputs rounded to TF32 or BF16 and float32 accumulation. Set with
     * {@link #setPrecision} or {@code -Dmagvit4j.cuda.matmul=float32|tf32|bf16}.
     */
    public enum Precision {
        FLOAT32("f32"), TF32("tf32"), BF16("bf16");

        /** The kernels' name suffix; the ordinal is gemm.cuh's Precision code. */
        final String suffix;

        Precision(String suffix) {
            this.suffix = suffix;
        }
    }

    private static volatile Precision precision = fromProperty(System.getProperty("magvit4j.cuda.matmul", "float32"));

    public static Precision precision() {
        return precision;
    }

    public static void setPrecision(Precision p) {
        precision = Objects.requireNonNull(p);
    }

    private static Precision fromProperty(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "float32", "fp32", "f32" -> Precision.FLOAT32;
            case "tf32" -> Precision.TF32;
            case "bf16", "bfloat16" -> Precision.BF16;
            default -> throw new IllegalArgumentException("-Dmagvit4j.cuda.matmul=" + v + ": expected float32, tf32 or bf16");
        };
    }

    /** gemm.cuh: output tile side and threads per block; k per K-slice at most; blocks per grid column. */
    static final int TILE = 128, GEMM_THREADS = 256;
    private static final int SLICE_K = 32;
    private static final int MAX_GRID_Y = 65535;
    /** The least k a split gets. */
    private static final int MIN_SPLIT_K = 256;
    /** matmul.cu's skinny products: builds for at most 4 and SKINNY_M rows, SKINNY_N columns per block of SKINNY_THREADS. */
    private static final int SKINNY_M = 16, SKINNY_N = 4, SKINNY_THREADS = 256;

    static Tensor matmul(CudaBackend be, Tensor a, Tensor b, Tensor bias) {
        MatmulGeometry g = MatmulGeometry.of(a, b, bias);
        Tensor out = be.empty(DType.FLOAT32, g.outShape());
        multiply(be, g, a, b, bias, out);
        return out;
    }

    /** out = a·b (+ bias) into out, a contiguous float32 tensor of the product's shape (a caller's reused buffer). */
    static void matmul(CudaBackend be, Tensor a, Tensor b, Tensor bias, Tensor out) {
        multiply(be, MatmulGeometry.of(a, b, bias), a, b, bias, out);
    }

    private static void multiply(CudaBackend be, MatmulGeometry g, Tensor a, Tensor b, Tensor bias, Tensor out) {
        if (!out.isContiguous() || out.dtype() != DType.FLOAT32 || !Shape.sameShape(out.shapeRef(), g.outShape())) {
            throw new IllegalArgumentException("matmul output must be contiguous float32 " + Shape.str(g.outShape()) + ", got " + out.dtype() + " " + Shape.str(out.shapeRef()));
        }
        int m = g.m(), k = g.k(), n = g.n();
        int[] batch = g.batch();
        a = MatmulGeometry.readableInPlace(a) ? a : contiguous(a);
        b = MatmulGeometry.readableInPlace(b) ? b : contiguous(b);
        if (out.numel() == 0) return;
        bias = contiguous(bias);
        int[] ast = a.stridesRef(), bst = b.stridesRef();
        int aRs = ast[ast.length - 2], aCs = ast[ast.length - 1], bRs = bst[bst.length - 2], bCs = bst[bst.length - 1];
        int[] aBatch = layout(batch, g.batchStrides(a), 0), bBatch = layout(batch, g.batchStrides(b), 0);
        int count = g.count();
        if (precision == Precision.FLOAT32 && CudaBlas.matmul(be, out, a, b, bias, m, n, k, aRs, aCs, bRs, bCs, aBatch, bBatch, count)) return;
        if (count == 1 && m <= SKINNY_M && aCs == 1 && bRs == 1) {
            // A few rows times a Linear's weight (B = Wᵀ, k contiguous in both): memory-bound on
            // B, which a 128 x 128 tile would read with m/128 of its arithmetic in use.
            be.device.launch("matmul", "matmul_skinny" + (m <= 4 ? 4 : SKINNY_M) + "_" + precision.suffix, ceilDiv(n, SKINNY_N), 1, 1, SKINNY_THREADS, 0,
                    ptr(out), ptr(a), aRs, ptr(b), bCs, ptrOrNull(bias), m, n, k);
            return;
        }

        // Kernel matmul_<precision>_<A major><B major>: A "k" when k is its contiguous direction, else
        // "m"; B "k" when k is (a transposed view such as Wᵀ), else "n".
        String kernel = "matmul_" + precision.suffix + "_" + (aCs == 1 || aRs != 1 ? "k" : "m") + (bRs == 1 && bCs != 1 ? "k" : "n");
        long tiles = (long) ceilDiv(m, TILE) * ceilDiv(n, TILE);
        Split s = Split.of(be, tiles * count, k, out);
        for (int base = 0; base < count; base += MAX_GRID_Y) {
            be.device.launch("matmul", kernel, (int) tiles, Math.min(MAX_GRID_Y, count - base), s.splits, GEMM_THREADS, 0,
                    ptr(s.target), ptr(a), ptr(b), ptrOrNull(s.splits == 1 ? bias : null), m, n, k, aRs, aCs, bRs, bCs, aBatch, bBatch, base, s.kSplit,
                    (long) out.numel());
        }
        s.finish(be, out, bias, n, 1);
    }

    /**
     * How a GEMM (a matmul or one of a convolution's three) splits k across blocks, and where the
     * partial products go: the output itself for one split, else a buffer of one copy of the
     * output per split (grid z), which {@link #finish} adds up.
     */
    record Split(int kSplit, int splits, Tensor target) {
        static Split of(CudaBackend be, long blocks, int k, Tensor out) {
            int kSplit = kPerSplit(be, blocks, k), splits = Math.max(1, ceilDiv(k, kSplit));
            return new Split(kSplit, splits, splits == 1 ? out : be.empty(DType.FLOAT32, splits * out.numel()));
        }

        /**
         * With several splits, out = their sum in split order (deterministic), plus bias[(i / biasDiv) % n]
         * for element i: a matmul's bias per column (biasDiv 1), a convolution's per NCHW channel
         * (biasDiv = H·W). Bias may be null.
         */
        void finish(CudaBackend be, Tensor out, Tensor bias, int n, int biasDiv) {
            if (splits == 1) return;
            int count = out.numel();
            be.device.launch("matmul", "splitk_reduce", blocks(be, count, THREADS), 1, 1, THREADS, 0,
                    ptr(out), ptr(target), ptrOrNull(bias), splits, (long) count, count, n, biasDiv);
            release(target);
        }
    }

    /**
     * k per split for a GEMM of {@code blocks} output tiles over k: all of k (one split) unless the
     * tiles alone leave multiprocessors idle (few outputs, long k, as in weight gradients); then
     * about two blocks per multiprocessor, a multiple of the K-slice and at least MIN_SPLIT_K each.
     */
    private static int kPerSplit(CudaBackend be, long blocks, int k) {
        int sms = be.device.multiprocessors;
        long splits = blocks >= sms ? 1 : Math.min((2L * sms + blocks - 1) / blocks, k / MIN_SPLIT_K);
        if (splits <= 1) return Math.max(k, 1);
        return ceilDiv(ceilDiv(k, (int) splits), SLICE_K) * SLICE_K;
    }
}
