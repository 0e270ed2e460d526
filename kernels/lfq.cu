// Lookup-free quantisation of z [B, C, *] (SPEC.md section 1): sign quantisation with packed
// code indices, and the exact entropy terms of the loss with their gradient.
// CPU twin: backend/cpu/CpuLfq.java (same factorisation, same float / double choices).
//
// Entropy without the 2^C softmax. The reference scores code j (bit k of j as ±1) with logits
// 2·z·c_j / T and takes a softmax over all 2^C codes. It factorises over bits:
// p_j = Π_k q_k(bit_k(j)) with q_k(1) = σ(u_k), q_k(0) = σ(-u_k), u_k = 4·z_k / T. Hence
//  - per-sample entropy = mean over tokens of Σ_k H(u_k), H(u) = softplus(-|u|) + |u|·σ(-|u|);
//  - with the bits split into lo = ceil(C/2) low bits (index a) and hi = C - lo high bits
//    (index b), each token's distribution is the outer product of A[n, a] = Π_{k<lo} q_k and
//    B[n, b] = Π_{k>=lo} q_k, so the batch average is P[b, a] = (1/N) Σ_n B[n, b]·A[n, a]: one
//    (2^hi x N)·(N x 2^lo) matrix product (lfq_gemm), code j = a + b·2^lo, never N x 2^C numbers;
//  - codebook entropy = -Σ_j P_j·log(P_j + 1e-5), the reference's 1e-5 included.
// The backward runs the products the other way, dA = B·G and dB = A·Gᵀ with G = dL/dP, then
// contracts each token's dA row against the low bits' probabilities (and dB against the high
// bits') to dL/dq_k(0) and dL/dq_k(1) without dividing by probabilities (often exactly 0 at
// T = 0.01): prefix and suffix products over the bits (lfq_entropy_grad).
#include "common.cuh"

// The largest channel count of the entropy kernels: 2^C codes of P, at most 12 bits per half.
#define MAX_BITS 12
#define MAX_C (2 * MAX_BITS)

// The reference's epsilon inside the codebook entropy's log.
#define LOG_EPS 1e-5
// Probabilities below this are stored as 0 in A and B (CpuLfq.FLUSH): their share of the
// entropy and its gradient is under 1e-29, while float denormals would slow the products.
#define FLUSH 1e-30f

// Channel k of token n = (b, p) of z [B, C, hw]: b·C·hw + k·hw + p.
__device__ __forceinline__ int token_at(int n, int k, int channels, int hw) {
    return (n / hw) * channels * hw + k * hw + n % hw;
}

// ------------------------------------------------------------------ quantisation

// Per token: quantised = +1 where z > 0 else -1 (0 and NaN map to -1), index = Σ_k 2^k [z_k > 0].
extern "C" __global__ void lfq_quantize(const float* z, int tokens, int channels, int hw, float* quantized, long long* index) {
    FOR_EACH(n, tokens) {
        long long code = 0;
        for (int k = 0; k < channels; k++) {
            int at = token_at(n, k, channels, hw);
            bool on = z[at] > 0.f;
            quantized[at] = on ? 1.f : -1.f;
            if (on) code |= 1LL << k;
        }
        index[n] = code;
    }
}

// The index of one factor group: bits [shift, shift + bits) of the full index.
extern "C" __global__ void lfq_group_index(const long long* index, int tokens, int shift, int bits, long long* out) {
    FOR_EACH(n, tokens) out[n] = (index[n] >> shift) & ((1LL << bits) - 1);
}

// ------------------------------------------------------------------ shared pieces of the entropy

__device__ __forceinline__ double warp_sum_double(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// block_sum of common.cuh in double. scratch: 32 doubles of shared memory.
__device__ __forceinline__ double block_sum_double(double v, double* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum_double(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0;
    return warp_sum_double(v);
}

// Threads k < C of the block: the bit probabilities of token n, q0[k] = σ(-u_k) and
// q1[k] = σ(u_k) with u = scale·z (scale = 4 / T), both kept so the small one is exact, and
// (when h is not null) the binary entropy h[k] = H(u_k). Double precision, as CpuLfq.
__device__ void bit_probs(const float* z, int n, int channels, int hw, double scale, double* q0, double* q1, double* h) {
    for (int k = threadIdx.x; k < channels; k += blockDim.x) {
        double u = scale * z[token_at(n, k, channels, hw)], au = fabs(u);
        double s_neg = 1.0 / (1.0 + exp(au));    // σ(-|u|)
        q0[k] = u >= 0 ? s_neg : 1.0 - s_neg;
        q1[k] = u >= 0 ? 1.0 - s_neg : s_neg;
        if (h) h[k] = log1p(exp(-au)) + au * s_neg;
    }
}

// dst[j] = Π_{k<bits} q_{k0+k}(bit k of j) for j < 2^bits, multiplied in order of k from 1.0
// (CpuLfq builds the same products by doubling), rounded to float, tiny ones flushed to 0.
__device__ void outer_product(const double* q0, const double* q1, int k0, int bits, float* dst) {
    for (int j = threadIdx.x; j < (1 << bits); j += blockDim.x) {
        double w = 1.0;
        for (int k = 0; k < bits; k++) w *= (j >> k & 1) ? q1[k0 + k] : q0[k0 + k];
        float v = (float) w;
        dst[j] = v < FLUSH ? 0.f : v;
    }
}

// Block i: token n = first + i. Writes A[i, :] (2^lo floats), B[i, :] (2^hi floats) and, when
// entropy is not null, entropy[n] = Σ_k H(u_k) (summed in order of k).
extern "C" __global__ void lfq_factors(const float* z, int first, int channels, int hw, double scale, float* a, float* b, double* entropy) {
    __shared__ double q0[MAX_C], q1[MAX_C], h[MAX_C];
    int i = blockIdx.x, n = first + i, lo = (channels + 1) / 2, hi = channels - lo;
    bit_probs(z, n, channels, hw, scale, q0, q1, entropy ? h : nullptr);
    __syncthreads();
    if (entropy && threadIdx.x == 0) {
        double s = 0;
        for (int k = 0; k < channels; k++) s += h[k];
        entropy[n] = s;
    }
    outer_product(q0, q1, 0, lo, a + ((size_t) i << lo));
    outer_product(q0, q1, lo, hi, b + ((size_t) i << hi));
}

// ------------------------------------------------------------------ the products

constexpr int TM = 64, TN = 64, TK = 16;    // block tile of C and depth step; 256 threads, 4 x 4 each

// C[m·ldc + n] (+)= Σ_k X[m·xm + k·xk]·Y[k·yk + n·yn] in float for m < M, n < N. Grid
// (ceil(N/TN), ceil(M/TM), splits): split s sums k in [s·k_split, (s+1)·k_split) ∩ [0, K) into
// its own C at c + s·split_stride, so the splits' sums are added later in a fixed order. With
// accumulate the sum is added to C's contents, else it replaces them. Tile loads walk the
// operand's unit-stride dimension with consecutive threads (coalesced).
extern "C" __global__ void __launch_bounds__(256) lfq_gemm(const float* x, int xm, int xk, const float* y, int yk, int yn, float* c, int ldc,
                                                           long long split_stride, int M, int N, int K, int k_split, int accumulate) {
    __shared__ float xs[TK][TM + 1], ys[TK][TN + 1];
    int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN, tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    int k_begin = blockIdx.z * k_split, k_end = min(K, k_begin + k_split);
    float acc[4][4] = {};
    for (int k0 = k_begin; k0 < k_end; k0 += TK) {
#pragma unroll
        for (int r = 0; r < TM * TK / 256; r++) {
            int l = threadIdx.x + r * 256;
            int m = xk == 1 ? l / TK : l % TM, k = xk == 1 ? l % TK : l / TM;
            int gm = m0 + m, gk = k0 + k;
            xs[k][m] = gm < M && gk < k_end ? x[(size_t) gm * xm + (size_t) gk * xk] : 0.f;
        }
#pragma unroll
        for (int r = 0; r < TN * TK / 256; r++) {
            int l = threadIdx.x + r * 256;
            int n = yn == 1 ? l % TN : l / TK, k = yn == 1 ? l / TN : l % TK;
            int gn = n0 + n, gk = k0 + k;
            ys[k][n] = gn < N && gk < k_end ? y[(size_t) gk * yk + (size_t) gn * yn] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TK; k++) {
            float xr[4], yr[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                xr[i] = xs[k][ty + 16 * i];
                yr[i] = ys[k][tx + 16 * i];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(xr[i], yr[j], acc[i][j]);
        }
        __syncthreads();
    }
    float* out = c + blockIdx.z * split_stride;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int gm = m0 + ty + 16 * i;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int gn = n0 + tx + 16 * j;
            if (gm < M && gn < N) {
                float* p = out + (size_t) gm * ldc + gn;
                *p = accumulate ? *p + acc[i][j] : acc[i][j];
            }
        }
    }
}

// ------------------------------------------------------------------ entropy forward

// P_j = (Σ over the splits of the sums, in order)·(1/N) into probs (what CpuLfq keeps for the
// backward), and this block's share of Σ_j P_j·log(P_j + 1e-5) (double) into block_terms.
extern "C" __global__ void lfq_codebook(const float* parts, int splits, int codes, float inv_n, float* probs, double* block_terms) {
    __shared__ double scratch[32];
    double t = 0;
    FOR_EACH(j, codes) {
        float s = 0.f;
        for (int sp = 0; sp < splits; sp++) s += parts[(size_t) sp * codes + j];
        float p = s * inv_n;
        probs[j] = p;
        t += (double) p * log((double) p + LOG_EPS);
    }
    t = block_sum_double(t, scratch);
    if (threadIdx.x == 0) block_terms[blockIdx.x] = t;
}

// One block: out = [Σ_n entropy[n] / N, -Σ block_terms] (per-sample and codebook entropy).
extern "C" __global__ void lfq_entropy_result(const double* entropy, int tokens, const double* block_terms, int blocks, float* out) {
    __shared__ double scratch[32];
    double h = 0, cb = 0;
    for (int i = threadIdx.x; i < tokens; i += blockDim.x) h += entropy[i];
    for (int i = threadIdx.x; i < blocks; i += blockDim.x) cb += block_terms[i];
    h = block_sum_double(h, scratch);
    cb = block_sum_double(cb, scratch);
    if (threadIdx.x == 0) {
        out[0] = (float) (h / tokens);
        out[1] = (float) -cb;
    }
}

// ------------------------------------------------------------------ entropy backward

// G_j = dCodebook/N · dCB/dP_j with dCB/dP_j = -(log(P_j + eps) + P_j / (P_j + eps)).
extern "C" __global__ void lfq_codebook_grad(const float* probs, int codes, float d_codebook, int tokens, float* g) {
    FOR_EACH(j, codes) {
        double p = probs[j];
        g[j] = (float) (-(log(p + LOG_EPS) + p / (p + LOG_EPS)) * d_codebook / tokens);
    }
}

// For F = Σ_j t[j]·Π_{k<m} q_k(bit k of j) (q0, q1 already offset to the first bit): the
// partial derivatives g0[k] = dF/dq_k(0) and g1[k] = dF/dq_k(1), i.e. Σ over the j with bit k
// equal to 0 (resp. 1) of t[j]·Π_{i≠k} q_i(bit i of j). Each thread takes entries j, builds
// the prefix products Π_{i<k} and walks k downwards with the suffix product Π_{i>k}·t[j]: no
// division by a probability. Then a block reduction per (k, bit). red: 2·MAX_BITS·(warps)
// doubles of shared memory. All threads call it.
__device__ void factor_grads(const float* t, int m, const double* q0, const double* q1, double* g0, double* g1, double* red) {
    double acc0[MAX_BITS], acc1[MAX_BITS];
#pragma unroll
    for (int k = 0; k < MAX_BITS; k++) acc0[k] = acc1[k] = 0.0;
    for (int j = threadIdx.x; j < (1 << m); j += blockDim.x) {
        double pre[MAX_BITS + 1];    // pre[k] = Π_{i<k} q_i(bit i of j)
        pre[0] = 1.0;
#pragma unroll
        for (int k = 0; k < MAX_BITS; k++)
            if (k < m) pre[k + 1] = pre[k] * ((j >> k & 1) ? q1[k] : q0[k]);
        double suffix = t[j];        // t[j]·Π_{i>k} q_i(bit i of j)
#pragma unroll
        for (int k = MAX_BITS - 1; k >= 0; k--) {
            if (k < m) {
                double w = pre[k] * suffix;
                if (j >> k & 1) {
                    acc1[k] += w;
                    suffix *= q1[k];
                } else {
                    acc0[k] += w;
                    suffix *= q0[k];
                }
            }
        }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
    for (int k = 0; k < MAX_BITS; k++) {
        if (k < m) {
            acc0[k] = warp_sum_double(acc0[k]);
            acc1[k] = warp_sum_double(acc1[k]);
            if (lane == 0) {
                red[warp * 2 * MAX_BITS + 2 * k] = acc0[k];
                red[warp * 2 * MAX_BITS + 2 * k + 1] = acc1[k];
            }
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < 2 * m; e += blockDim.x) {
        double s = 0;
        for (int w = 0; w < warps; w++) s += red[w * 2 * MAX_BITS + e];
        (e & 1 ? g1 : g0)[e >> 1] = s;
    }
    __syncthreads();
}

// Block i (at most 256 threads), token n = first + i:
// dz_k = scale·(per_token·dH/du_k + σ(u)σ(-u)·(dL/dq_k(1) - dL/dq_k(0))), where
// dH/du = -u·σ(u)·σ(-u), dq1/du = -dq0/du = σ(u)·σ(-u), and the dL/dq come from the token's rows
// of dA (low bits) and dB (high bits); da = db = null when the codebook term has no gradient.
extern "C" __global__ void __launch_bounds__(256) lfq_entropy_grad(const float* z, int first, int channels, int hw, double scale,
                                                                   double per_token, const float* da, const float* db, float* dz) {
    __shared__ double q0[MAX_C], q1[MAX_C], g0[MAX_C], g1[MAX_C], red[8 * 2 * MAX_BITS];
    int i = blockIdx.x, n = first + i, lo = (channels + 1) / 2, hi = channels - lo;
    bit_probs(z, n, channels, hw, scale, q0, q1, nullptr);
    __syncthreads();
    if (da) {
        factor_grads(da + ((size_t) i << lo), lo, q0, q1, g0, g1, red);
        factor_grads(db + ((size_t) i << hi), hi, q0 + lo, q1 + lo, g0 + lo, g1 + lo, red);
    }
    for (int k = threadIdx.x; k < channels; k += blockDim.x) {
        int at = token_at(n, k, channels, hw);
        double u = scale * z[at];
        double ss = q0[k] * q1[k];
        double d = per_token * (-u * ss);
        if (da) d += ss * (g1[k] - g0[k]);
        dz[at] = (float) (d * scale);
    }
}
