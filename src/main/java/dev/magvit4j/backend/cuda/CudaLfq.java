package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.LfqTokens;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/**
 * Lookup-free quantisation (SPEC.md section 1) of z [B, C, *], one token per (sample, position)
 * with C bits. Kernels: kernels/lfq.cu (whose header derives the entropy's factorisation).
 * CPU: CpuLfq, which this mirrors step by step: per chunk of tokens the bit probabilities and
 * the outer products A (low bits) and B (high bits), then P = Bᵀ·A / N for the forward, or
 * dA = B·G, dB = A·Gᵀ and their contraction to per-bit gradients for the backward.
 */
final class CudaLfq {

    private CudaLfq() {}

    private static final String M = "lfq";
    /** The most bits of a half (MAX_BITS in lfq.cu): the entropy takes up to 24 channels, P 2^24 floats. */
    private static final int MAX_BITS = 12;
    /** Floats of A per chunk of tokens (and at most as many of B, dA, dB): memory does not grow with N. */
    private static final int CHUNK_FLOATS = 1 << 22;
    /** lfq_gemm's block tile (TM = TN in lfq.cu) and threads. */
    private static final int TILE = 64, GEMM_THREADS = 256;

    static Tensor[] quantize(CudaBackend be, Tensor z, int[] groupBits) {
        LfqTokens t = LfqTokens.of(z);
        t.checkGroups(groupBits);
        z = contiguousFloat(z);
        int n = t.count();
        int[] tokenShape = Shape.reduced(z.shapeRef(), new int[] {1}, false);  // [B, *]
        Tensor[] out = new Tensor[2 + groupBits.length];
        out[0] = be.empty(DType.FLOAT32, z.shapeRef());
        out[1] = be.empty(DType.INT64, tokenShape);
        be.device.launch(M, "lfq_quantize", blocks(be, n, THREADS), 1, 1, THREADS, 0, ptr(z), n, t.channels(), t.hw(), ptr(out[0]), ptr(out[1]));
        for (int g = 0, shift = 0; g < groupBits.length; shift += groupBits[g], g++) {
            out[2 + g] = be.empty(DType.INT64, tokenShape);
            be.device.launch(M, "lfq_group_index", blocks(be, n, THREADS), 1, 1, THREADS, 0, ptr(out[1]), n, shift, groupBits[g], ptr(out[2 + g]));
        }
        return out;
    }

    /** The entropy kernels' limits: at least one token, at most 2·MAX_BITS channels. */
    private static void checkEntropy(LfqTokens t) {
        if (t.channels() > 2 * MAX_BITS) throw new IllegalArgumentException("LFQ entropy on CUDA supports up to " + 2 * MAX_BITS + " bits per token, got " + t.channels());
        if (t.count() == 0) throw new IllegalArgumentException("LFQ entropy needs at least one token");
    }

    /** Threads of the one-block-per-token kernels: a warp multiple covering the 2^lo entries of A, at most 256. */
    private static int tokenThreads(int lo) {
        return Math.min(256, Math.max(32, ((1 << lo) + 31) / 32 * 32));
    }

    /** Device scratch for {@code count} doubles (the kernels use it as double*). */
    private static Tensor doubles(CudaBackend be, int count) {
        return be.empty(DType.INT64, count);
    }

    /** One chunk's outer products A [chunk, 2^lo] (low bits) and B [chunk, 2^hi] (high bits), reused across chunks. */
    private static final class Factors {
        final int lo, hi, na, nb, chunk;
        final Tensor a, b;

        Factors(CudaBackend be, LfqTokens t) {
            lo = (t.channels() + 1) / 2;
            hi = t.channels() - lo;
            na = 1 << lo;
            nb = 1 << hi;
            chunk = Math.min(t.count(), CHUNK_FLOATS >> lo);
            a = be.empty(DType.FLOAT32, chunk, na);
            b = be.empty(DType.FLOAT32, chunk, nb);
        }

        /** Fills A and B for tokens [first, first + count), and each token's Σ_k H(u_k) into entropy (double*) unless null. */
        void fill(CudaBackend be, Tensor z, LfqTokens t, double scale, int first, int count, Tensor entropy) {
            be.device.launch(M, "lfq_factors", count, 1, 1, tokenThreads(lo), 0, ptr(z), first, t.channels(), t.hw(), scale, ptr(a), ptr(b), ptrOrNull(entropy));
        }
    }

    /**
     * C (+)= X·Y on lfq_gemm, X [m, k] read at x[i·xm + j·xk], Y [k, n] at y[i·yk + j·yn], C with
     * row stride ldc; the k range is split over {@code splits} blocks, split s writing its own C
     * at c + s·splitStride.
     */
    private static void gemm(CudaBackend be, Tensor x, int xm, int xk, Tensor y, int yk, int yn, Tensor c, int ldc, long splitStride,
                             int m, int n, int k, int splits, boolean accumulate) {
        be.device.launch(M, "lfq_gemm", ceilDiv(n, TILE), ceilDiv(m, TILE), splits, GEMM_THREADS, 0, ptr(x), xm, xk, ptr(y), yk, yn, ptr(c), ldc,
                splitStride, m, n, k, ceilDiv(k, splits), accumulate ? 1 : 0);
    }

    static Tensor[] entropy(CudaBackend be, Tensor z, float temperature) {
        LfqTokens t = LfqTokens.of(z);
        checkEntropy(t);
        z = contiguousFloat(z);
        int n = t.count(), codes = 1 << t.channels();
        double scale = 4.0 / temperature;
        Factors f = new Factors(be, t);
        // P[b, a] = Σ_n B[n, b]·A[n, a], code j = a + b·2^lo: M = 2^hi rows, N = 2^lo columns, K = tokens.
        // P has few tiles, so K is split over enough blocks to fill the GPU; each split keeps its own P.
        int splits = Math.max(1, Math.min(16, 2 * be.device.multiprocessors / (ceilDiv(f.na, TILE) * ceilDiv(f.nb, TILE))));
        Tensor parts = be.empty(DType.FLOAT32, splits, codes);
        Tensor entropy = doubles(be, n);
        for (int first = 0; first < n; first += f.chunk) {
            int count = Math.min(f.chunk, n - first);
            f.fill(be, z, t, scale, first, count, entropy);
            gemm(be, f.b, 1, f.nb, f.a, f.na, 1, parts, f.na, codes, f.nb, f.na, count, splits, first > 0);
        }
        // P = Σ_splits / N, the codebook entropy's terms per block, then both entropies.
        Tensor probs = be.empty(DType.FLOAT32, codes);
        int termBlocks = blocks(be, codes, THREADS);
        Tensor terms = doubles(be, termBlocks);
        be.device.launch(M, "lfq_codebook", termBlocks, 1, 1, THREADS, 0, ptr(parts), splits, codes, 1f / n, ptr(probs), ptr(terms));
        Tensor result = be.empty(DType.FLOAT32, 2);
        be.device.launch(M, "lfq_entropy_result", 1, 1, 1, THREADS, 0, ptr(entropy), n, ptr(terms), termBlocks, ptr(result));
        release(f.a, f.b, parts, entropy, terms);
        return new Tensor[] {result, probs};
    }

    static Tensor entropyBackward(CudaBackend be, Tensor z, Tensor avgProbs, float temperature, float dPerSample, float dCodebook) {
        LfqTokens t = LfqTokens.of(z);
        checkEntropy(t);
        z = contiguousFloat(z);
        int n = t.count(), codes = 1 << t.channels(), lo = (t.channels() + 1) / 2;
        double scale = 4.0 / temperature, perToken = dPerSample / (double) n;
        Tensor dz = be.empty(DType.FLOAT32, z.shapeRef());
        Factors f = null;
        Tensor da = null, db = null, g = null;
        if (dCodebook != 0f) {
            if (avgProbs.numel() != codes) {
                throw new IllegalArgumentException("LFQ entropy backward: " + avgProbs.numel() + " average probabilities for " + codes + " codes");
            }
            // G = dCodebook/N · dCB/dP, laid out like P: G[b, a] at a + b·2^lo.
            avgProbs = contiguousFloat(avgProbs);
            g = be.empty(DType.FLOAT32, codes);
            be.device.launch(M, "lfq_codebook_grad", blocks(be, codes, THREADS), 1, 1, THREADS, 0, ptr(avgProbs), codes, dCodebook, n, ptr(g));
            f = new Factors(be, t);
            da = be.empty(DType.FLOAT32, f.chunk, f.na);
            db = be.empty(DType.FLOAT32, f.chunk, f.nb);
        }
        int chunk = f == null ? n : f.chunk;   // without the codebook term no buffers: one pass
        for (int first = 0; first < n; first += chunk) {
            int count = Math.min(chunk, n - first);
            if (f != null) {
                f.fill(be, z, t, scale, first, count, null);
                // dA[i, a] = Σ_b B[i, b]·G[b, a];  dB[i, b] = Σ_a A[i, a]·G[b, a].
                gemm(be, f.b, f.nb, 1, g, f.na, 1, da, f.na, 0, count, f.na, f.nb, 1, false);
                gemm(be, f.a, f.na, 1, g, 1, f.na, db, f.nb, 0, count, f.nb, f.na, 1, false);
            }
            be.device.launch(M, "lfq_entropy_grad", count, 1, 1, tokenThreads(lo), 0, ptr(z), first, t.channels(), t.hw(), scale, perToken,
                    ptrOrNull(da), ptrOrNull(db), ptr(dz));
        }
        if (f != null) release(f.a, f.b, g, da, db);
        return dz;
    }
}
