// Scaled dot-product attention, forward and backward, never holding a Tq x Tk score matrix in
// memory (flash-attention style). CPU twin: backend/cpu/CpuAttention.java; the contract is
// Backend.attention / attentionBackward.
//
// Queries q [B, H, Tq, D], keys and values k, v [B, H, Tk, D]. Query i sits at key position
// i + shift, shift = Tk - Tq (a key/value cache), so causal attention hides keys j > i + shift.
// An optional bool mask (true = attend) hides more. A query that sees no key at all gets out = 0
// and logsumexp = -inf, and no gradient, exactly as on the CPU.
//
// Forward (scores s_ij = q_i·k_j·scale):
//   out_i = Σ_j p_ij v_j,  p_ij = exp(s_ij - lse_i),  lse_i = log Σ_j exp(s_ij).
//   Keys are visited in tiles with an online softmax: per query row a running maximum m, a
//   running sum l = Σ exp(s - m) and an unnormalised output o = Σ exp(s - m) v. When a tile
//   raises the maximum to m', everything gathered so far is rescaled by α = exp(m - m') before
//   the tile's own terms exp(s - m') are added; at the end out = o / l and lse = m + log l.
//   attn_fwd_tiled: one block per (batch·head, tile of 64 queries), key tiles of 32.
//   attn_fwd_split (few queries, e.g. a sampling step with a KV cache): one block per
//   (query row, range of keys), so batch 1 still fills the GPU; each block leaves its (m, l, o)
//   and attn_fwd_combine merges them with the same rescaling (or the block finishes the row
//   itself when there is one range).
//
// Backward, with P recomputed from the saved lse (no P stored):
//   dv_j = Σ_i p_ij do_i
//   dp_ij = do_i·v_j,  delta_i = Σ_j p_ij dp_ij = do_i·out_i   (attn_bwd_delta)
//   ds_ij = p_ij (dp_ij - delta_i) · scale                       (gradient of the scaled score)
//   dq_i = Σ_j ds_ij k_j,  dk_j = Σ_i ds_ij q_i
//   attn_bwd_dkdv: one block per (batch·head, tile of 32 keys) walking the query tiles, dk and dv
//   kept in registers; attn_bwd_dq: one block per (batch·head, tile of 32 queries) walking the
//   key tiles. No atomics: every output element is written once, by one thread.
//   attn_bwd_rows (at most a few keys, e.g. the AR model's two-position intra sequences): one
//   warp per (batch, head) walking the (query, key) pairs, like CpuAttention's few-keys path.
//
// q, k, v, out and dout are read through (batch, head, row) strides (rows unit-stride in D), so
// heads-last views and slices of a KV cache need no copy. Outputs are contiguous. Head dims up to
// 128: each kernel is instantiated for DMAX = 32, 64, 96, 128 (D rounded up; the padding is
// zero in shared memory and registers).
#include "common.cuh"

// Strides (elements) of an operand's batch, head and row dims: element (b, h, t, d) sits at
// b·stride.b + h·stride.h + t·stride.t + d.
struct RowStrides {
    int b, h, t;
};

// One call's shapes, as CudaAttention packs them (22 ints, no padding).
struct Problem {
    int heads, tq, tk, d;
    int causal;
    int mb, mh;                 // mask strides of batch and head (0 when broadcast); row i·Tk + j
    RowStrides q, k, v, out, dout;
};

// Whether query i (of Tq) sees key j (of Tk). Indices past Tq or Tk (tile padding) see nothing.
__device__ __forceinline__ bool visible(const Problem& p, const unsigned char* mask, int b, int h, int i, int j) {
    if (i >= p.tq || j >= p.tk) return false;
    if (p.causal && j > i + p.tk - p.tq) return false;
    return mask == nullptr || mask[b * p.mb + h * p.mh + i * p.tk + j] != 0;
}

// Key range a query row (or a tile of rows ending before row `end`) may see.
__device__ __forceinline__ int key_end(const Problem& p, int end) {
    return p.causal ? min(p.tk, min(end, p.tq) + p.tk - p.tq) : p.tk;
}

// The shift of the online softmax for a running maximum m: m itself, or 0 while no key has been
// seen (m = -inf), so exp(x - base) is exp(-inf) = 0 rather than exp(-inf + inf) = NaN.
__device__ __forceinline__ float exp_base(float m) {
    return m == -INFINITY ? 0.f : m;
}

// The final output and log-sum-exp of a row from (m, l, o): a row that saw no key gets 0 and -inf.
__device__ __forceinline__ float normalized(float o, float m, float l) {
    return m == -INFINITY ? 0.f : o / l;
}

__device__ __forceinline__ float log_sum_exp(float m, float l) {
    return m == -INFINITY ? -INFINITY : m + logf(l);
}

// ------------------------------------------------------------------ tiles in shared memory

// Tiled kernels: 128 threads as a 16 x 8 grid (ty = thread / 8, tx = thread % 8). A thread owns
// the tile rows ty + 16·i and the columns tx + 8·j, so the 8 threads sharing a row are 8
// neighbouring lanes of one warp: row reductions are 3 shuffles, and a row of a P tile written
// by those lanes is read back only by them (a __syncwarp suffices).
constexpr int TILE_THREADS = 128, TY = 16, TX = 8;

// Rows [r0, r0 + R) of one head of an operand (rows past `rows` and columns past d read as 0)
// into shared memory rows of pitch DMAX + 1 (odd: the 4 rows a warp reads at once fall in
// different banks). Consecutive threads read consecutive floats of a row.
template <int R, int DMAX>
__device__ __forceinline__ void load_rows(float* dst, const float* src, int stride_t, int r0, int rows, int d) {
    for (int e = threadIdx.x; e < R * DMAX; e += TILE_THREADS) {
        int r = e / DMAX, c = e - r * DMAX;
        dst[r * (DMAX + 1) + c] = r0 + r < rows && c < d ? src[(r0 + r) * stride_t + c] : 0.f;
    }
}

// acc[i][j] += A[ty + 16i] · B[tx + 8j] over the DMAX columns: the thread's share of A·Bᵀ for
// row tiles A, B of pitch DMAX + 1 (e.g. scores Q·Kᵀ).
template <int RI, int CJ, int DMAX>
__device__ __forceinline__ void tile_dot(float (&acc)[RI][CJ], const float* a, const float* b) {
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
#pragma unroll 8
    for (int c = 0; c < DMAX; c++) {
        float av[RI], bv[CJ];
#pragma unroll
        for (int i = 0; i < RI; i++) av[i] = a[(ty + TY * i) * (DMAX + 1) + c];
#pragma unroll
        for (int j = 0; j < CJ; j++) bv[j] = b[(tx + TX * j) * (DMAX + 1) + c];
#pragma unroll
        for (int i = 0; i < RI; i++) {
#pragma unroll
            for (int j = 0; j < CJ; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
    }
}

// acc[i][jj] += Σ_c P[ty + 16i][c] · M[c][tx + 8jj], c < K: the thread's share of P·M for a
// weight tile P of pitch K + 1 and a row tile M of pitch DMAX + 1 (e.g. P·V).
template <int RI, int K, int DMAX>
__device__ __forceinline__ void tile_mul(float (&acc)[RI][DMAX / TX], const float* pt, const float* m) {
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
#pragma unroll 4
    for (int c = 0; c < K; c++) {
        float pv[RI];
#pragma unroll
        for (int i = 0; i < RI; i++) pv[i] = pt[(ty + TY * i) * (K + 1) + c];
#pragma unroll
        for (int jj = 0; jj < DMAX / TX; jj++) {
            float mv = m[c * (DMAX + 1) + tx + TX * jj];
#pragma unroll
            for (int i = 0; i < RI; i++) acc[i][jj] = fmaf(pv[i], mv, acc[i][jj]);
        }
    }
}

// Reductions over the 8 lanes that share a tile row.
__device__ __forceinline__ float row_max(float v) {
    for (int o = 1; o < TX; o <<= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float row_sum(float v) {
    for (int o = 1; o < TX; o <<= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Writes rows [r0, r0 + 16·RI) of a contiguous [.., T, D] output block from a thread's tile
// share acc[i][jj] (row ty + 16i, column tx + 8jj), skipping rows past T and columns past d.
template <int RI, int DMAX>
__device__ __forceinline__ void store_rows(float* dst, const float (&acc)[RI][DMAX / TX], int r0, int rows, int d) {
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
#pragma unroll
    for (int i = 0; i < RI; i++) {
        int r = r0 + ty + TY * i;
        if (r >= rows) continue;
#pragma unroll
        for (int jj = 0; jj < DMAX / TX; jj++) {
            int c = tx + TX * jj;
            if (c < d) dst[r * d + c] = acc[i][jj];
        }
    }
}

// ------------------------------------------------------------------ forward, tiled

constexpr int FWD_RI = 4, FWD_CJ = 4;                         // 64 queries x 32 keys per step
constexpr int FWD_BQ = TY * FWD_RI, FWD_BK = TX * FWD_CJ;

// Shared memory: Q tile, K tile, V tile (pitch DMAX + 1), P tile (pitch FWD_BK + 1).
template <int DMAX>
constexpr int fwd_tiled_smem() {
    return ((FWD_BQ + 2 * FWD_BK) * (DMAX + 1) + FWD_BQ * (FWD_BK + 1)) * (int) sizeof(float);
}

// The tiled kernels' shared memory must fit every GPU the PTX targets (99 KiB opt-in on sm_86/89).
constexpr int MAX_SMEM = 99 * 1024;
static_assert(fwd_tiled_smem<128>() <= MAX_SMEM, "forward tiles too large");

// Block (bh, tile): queries [64·tile, +64) of (batch, head) bh against every key they may see.
template <int DMAX>
__device__ void fwd_tiled(const float* q, const float* k, const float* v, const unsigned char* mask, const Problem& p,
                          float scale, float* out, float* lse) {
    constexpr int P = DMAX + 1, DJ = DMAX / TX;
    extern __shared__ float smem[];
    float* qt = smem;
    float* kt = qt + FWD_BQ * P;
    float* vt = kt + FWD_BK * P;
    float* pt = vt + FWD_BK * P;
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
    const int bh = blockIdx.x, b = bh / p.heads, h = bh % p.heads, q0 = blockIdx.y * FWD_BQ;
    const float* kh = k + b * p.k.b + h * p.k.h;
    const float* vh = v + b * p.v.b + h * p.v.h;
    load_rows<FWD_BQ, DMAX>(qt, q + b * p.q.b + h * p.q.h, p.q.t, q0, p.tq, p.d);

    float o[FWD_RI][DJ] = {}, m[FWD_RI], l[FWD_RI];
#pragma unroll
    for (int i = 0; i < FWD_RI; i++) {
        m[i] = -INFINITY;
        l[i] = 0.f;
    }
    const int k_end = key_end(p, q0 + FWD_BQ);
    for (int k0 = 0; k0 < k_end; k0 += FWD_BK) {
        __syncthreads();                                  // the previous K, V tiles are consumed
        load_rows<FWD_BK, DMAX>(kt, kh, p.k.t, k0, p.tk, p.d);
        load_rows<FWD_BK, DMAX>(vt, vh, p.v.t, k0, p.tk, p.d);
        __syncthreads();
        float s[FWD_RI][FWD_CJ] = {};
        tile_dot<FWD_RI, FWD_CJ, DMAX>(s, qt, kt);
#pragma unroll
        for (int i = 0; i < FWD_RI; i++) {
            int qi = q0 + ty + TY * i;
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < FWD_CJ; j++) {
                s[i][j] = visible(p, mask, b, h, qi, k0 + tx + TX * j) ? s[i][j] * scale : -INFINITY;
                mx = fmaxf(mx, s[i][j]);
            }
            // Online softmax: the new maximum m', the factor α = exp(m - m') for what the row
            // gathered so far, and this tile's terms exp(s - m') (written to P for P·V).
            float m_new = fmaxf(m[i], row_max(mx)), base = exp_base(m_new);
            float alpha = expf(m[i] - base), sum = 0.f;
#pragma unroll
            for (int j = 0; j < FWD_CJ; j++) {
                float e = expf(s[i][j] - base);
                pt[(ty + TY * i) * (FWD_BK + 1) + tx + TX * j] = e;
                sum += e;
            }
            l[i] = l[i] * alpha + row_sum(sum);
            m[i] = m_new;
#pragma unroll
            for (int jj = 0; jj < DJ; jj++) o[i][jj] *= alpha;
        }
        __syncwarp();                                     // this warp's P rows are written
        tile_mul<FWD_RI, FWD_BK, DMAX>(o, pt, vt);
    }
#pragma unroll
    for (int i = 0; i < FWD_RI; i++) {
        int qi = q0 + ty + TY * i;
#pragma unroll
        for (int jj = 0; jj < DJ; jj++) o[i][jj] = normalized(o[i][jj], m[i], l[i]);
        if (tx == 0 && qi < p.tq) lse[bh * p.tq + qi] = log_sum_exp(m[i], l[i]);
    }
    store_rows<FWD_RI, DMAX>(out + bh * p.tq * p.d, o, q0, p.tq, p.d);
}

// ------------------------------------------------------------------ forward, split keys

constexpr int SPLIT_THREADS = 128, SPLIT_WARPS = SPLIT_THREADS / 32;

// Lane-held rows: lane owns columns lane + 32t, t < DMAX / 32 (0 past d).
template <int DMAX>
__device__ __forceinline__ void load_lane_row(float (&r)[DMAX / 32], const float* src, int d) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int t = 0; t < DMAX / 32; t++) r[t] = lane + 32 * t < d ? src[lane + 32 * t] : 0.f;
}

template <int DMAX>
__device__ __forceinline__ float lane_dot(const float (&a)[DMAX / 32], const float (&b)[DMAX / 32]) {
    float s = 0.f;
#pragma unroll
    for (int t = 0; t < DMAX / 32; t++) s = fmaf(a[t], b[t], s);
    return warp_sum(s);
}

// Block (row, split), row = bh·Tq + i: query i of (batch, head) bh against keys
// [split·chunk, +chunk). Each warp runs the online softmax over every 4th key, one key at a time
// (lanes split D); the block then merges its 4 warps' (m, l, o). With one split the block writes
// out and lse; otherwise this split's (m, l, o) go to partial for attn_fwd_combine, laid out as
// o [rows·splits, D], then m [rows·splits], then l [rows·splits].
template <int DMAX>
__device__ void fwd_split(const float* q, const float* k, const float* v, const unsigned char* mask, const Problem& p,
                          float scale, int chunk, float* out, float* lse, float* partial) {
    constexpr int DL = DMAX / 32;
    __shared__ float wm[SPLIT_WARPS], wl[SPLIT_WARPS], wo[SPLIT_WARPS][DMAX];
    const int row = blockIdx.x, bh = row / p.tq, i = row % p.tq, b = bh / p.heads, h = bh % p.heads;
    const int split = blockIdx.y, splits = gridDim.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float* kh = k + b * p.k.b + h * p.k.h;
    const float* vh = v + b * p.v.b + h * p.v.h;
    const int j0 = split * chunk, j1 = min(j0 + chunk, key_end(p, i + 1));

    float qr[DL], o[DL] = {}, m = -INFINITY, l = 0.f;
    load_lane_row<DMAX>(qr, q + b * p.q.b + h * p.q.h + i * p.q.t, p.d);
    for (int j = j0 + warp; j < j1; j += SPLIT_WARPS) {
        if (!visible(p, mask, b, h, i, j)) continue;      // the same j for the whole warp
        float kr[DL], vr[DL];
        load_lane_row<DMAX>(kr, kh + j * p.k.t, p.d);
        load_lane_row<DMAX>(vr, vh + j * p.v.t, p.d);
        float s = lane_dot<DMAX>(qr, kr) * scale;
        // Online softmax with a single new score (see the file header).
        float m_new = fmaxf(m, s), base = exp_base(m_new);
        float alpha = expf(m - base), e = expf(s - base);
        l = l * alpha + e;
#pragma unroll
        for (int t = 0; t < DL; t++) o[t] = fmaf(o[t], alpha, e * vr[t]);
        m = m_new;
    }
    if (lane == 0) {
        wm[warp] = m;
        wl[warp] = l;
    }
#pragma unroll
    for (int t = 0; t < DL; t++) wo[warp][lane + 32 * t] = o[t];
    __syncthreads();

    // Merge the warps: M = max m_w, L = Σ l_w exp(m_w - M), O = Σ o_w exp(m_w - M).
    float mx = -INFINITY;
    for (int w = 0; w < SPLIT_WARPS; w++) mx = fmaxf(mx, wm[w]);
    float base = exp_base(mx), sum = 0.f;
    for (int w = 0; w < SPLIT_WARPS; w++) sum += wl[w] * expf(wm[w] - base);
    const int slot = row * splits + split, slots = gridDim.x * splits;
    for (int c = threadIdx.x; c < p.d; c += SPLIT_THREADS) {
        float oc = 0.f;
        for (int w = 0; w < SPLIT_WARPS; w++) oc += wo[w][c] * expf(wm[w] - base);
        if (splits == 1) out[row * p.d + c] = normalized(oc, mx, sum);
        else partial[slot * p.d + c] = oc;
    }
    if (threadIdx.x == 0) {
        if (splits == 1) {
            lse[row] = log_sum_exp(mx, sum);
        } else {
            partial[slots * p.d + slot] = mx;
            partial[slots * (p.d + 1) + slot] = sum;
        }
    }
}

// One warp per row (4 rows per block of 128): merges the row's `splits` partial (m, l, o) as
// fwd_split merges warps, and writes out [rows, d] and lse [rows].
extern "C" __global__ void attn_fwd_combine(const float* partial, int rows, int splits, int d, float* out, float* lse) {
    const int lane = threadIdx.x & 31, row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int slots = rows * splits;
    const float* pm = partial + slots * d + row * splits;
    const float* pl = partial + slots * (d + 1) + row * splits;
    const float* po = partial + row * splits * d;
    float mx = -INFINITY;
    for (int s = lane; s < splits; s += 32) mx = fmaxf(mx, pm[s]);
    mx = warp_max(mx);
    float base = exp_base(mx), sum = 0.f;
    for (int s = lane; s < splits; s += 32) sum += pl[s] * expf(pm[s] - base);
    sum = warp_sum(sum);
    for (int c = lane; c < d; c += 32) {
        float oc = 0.f;
        for (int s = 0; s < splits; s++) oc += po[s * d + c] * expf(pm[s] - base);
        out[row * d + c] = normalized(oc, mx, sum);
    }
    if (lane == 0) lse[row] = log_sum_exp(mx, sum);
}

// ------------------------------------------------------------------ backward

// delta[row] = dout_row · out_row, one warp per row (bh·Tq + i), 4 rows per block of 128.
extern "C" __global__ void attn_bwd_delta(const float* out, const float* dout, Problem p, int rows, float* delta) {
    const int lane = threadIdx.x & 31, row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int bh = row / p.tq, i = row % p.tq, b = bh / p.heads, h = bh % p.heads;
    const float* o = out + b * p.out.b + h * p.out.h + i * p.out.t;
    const float* g = dout + b * p.dout.b + h * p.dout.h + i * p.dout.t;
    float s = 0.f;
    for (int c = lane; c < p.d; c += 32) s = fmaf(g[c], o[c], s);
    s = warp_sum(s);
    if (lane == 0) delta[row] = s;
}

// (p_ij, ds_ij = p_ij (dp_ij - delta_i) · scale) from the raw score q_i·k_j and dp_ij = do_i·v_j;
// both 0 where the pair is hidden (live = false: masked, or the query saw no key).
__device__ __forceinline__ float2 prob_and_grad(bool live, float score, float dp, float scale, float lse, float delta) {
    if (!live) return make_float2(0.f, 0.f);
    float prob = expf(score * scale - lse);
    return make_float2(prob, prob * (dp - delta) * scale);
}

constexpr int BWD_RI = 2, BWD_CJ = 4;                         // 32 x 32 tiles
constexpr int BWD_B = TY * BWD_RI;
static_assert(TX * BWD_CJ == BWD_B, "square backward tiles");

// Shared memory of attn_bwd_dkdv: K, V, Q, dO tiles; Pᵀ and dSᵀ tiles; lse and delta of the queries.
template <int DMAX>
constexpr int bwd_dkdv_smem() {
    return (4 * BWD_B * (DMAX + 1) + 2 * BWD_B * (BWD_B + 1) + 2 * BWD_B) * (int) sizeof(float);
}

static_assert(bwd_dkdv_smem<128>() <= MAX_SMEM, "dK/dV tiles too large");

// Block (bh, tile): keys [32·tile, +32) of bh. For each tile of 32 queries that may see them,
// the transposed scores Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ (keys as rows), then dv += Pᵀ·dO and
// dk += dSᵀ·Q, accumulated in registers over the query tiles.
template <int DMAX>
__device__ void bwd_dkdv(const float* q, const float* k, const float* v, const float* dout, const float* lse,
                         const float* delta, const unsigned char* mask, const Problem& p, float scale, float* dk, float* dv) {
    constexpr int P = DMAX + 1, DJ = DMAX / TX;
    extern __shared__ float smem[];
    float* kt = smem;
    float* vt = kt + BWD_B * P;
    float* qt = vt + BWD_B * P;
    float* gt = qt + BWD_B * P;
    float* pt = gt + BWD_B * P;                           // Pᵀ, pitch BWD_B + 1
    float* dst = pt + BWD_B * (BWD_B + 1);                // dSᵀ
    float* lse_t = dst + BWD_B * (BWD_B + 1);             // lse of the tile's queries
    float* delta_t = lse_t + BWD_B;                       // delta of the tile's queries
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
    const int bh = blockIdx.x, b = bh / p.heads, h = bh % p.heads, k0 = blockIdx.y * BWD_B;
    const float* qh = q + b * p.q.b + h * p.q.h;
    const float* gh = dout + b * p.dout.b + h * p.dout.h;
    load_rows<BWD_B, DMAX>(kt, k + b * p.k.b + h * p.k.h, p.k.t, k0, p.tk, p.d);
    load_rows<BWD_B, DMAX>(vt, v + b * p.v.b + h * p.v.h, p.v.t, k0, p.tk, p.d);

    float dka[BWD_RI][DJ] = {}, dva[BWD_RI][DJ] = {};
    // Causal: query i sees key k0 only if i + shift >= k0, so earlier query tiles are skipped.
    const int q_begin = p.causal ? max(0, k0 - (p.tk - p.tq)) / BWD_B * BWD_B : 0;
    for (int q0 = q_begin; q0 < p.tq; q0 += BWD_B) {
        __syncthreads();                                  // the previous Q, dO tiles are consumed
        load_rows<BWD_B, DMAX>(qt, qh, p.q.t, q0, p.tq, p.d);
        load_rows<BWD_B, DMAX>(gt, gh, p.dout.t, q0, p.tq, p.d);
        for (int e = threadIdx.x; e < BWD_B; e += TILE_THREADS) {
            bool in = q0 + e < p.tq;
            lse_t[e] = in ? lse[bh * p.tq + q0 + e] : -INFINITY;
            delta_t[e] = in ? delta[bh * p.tq + q0 + e] : 0.f;
        }
        __syncthreads();
        float s[BWD_RI][BWD_CJ] = {}, dp[BWD_RI][BWD_CJ] = {};
        tile_dot<BWD_RI, BWD_CJ, DMAX>(s, kt, qt);
        tile_dot<BWD_RI, BWD_CJ, DMAX>(dp, vt, gt);
#pragma unroll
        for (int i = 0; i < BWD_RI; i++) {
#pragma unroll
            for (int j = 0; j < BWD_CJ; j++) {
                int c = tx + TX * j, e = (ty + TY * i) * (BWD_B + 1) + c;
                bool live = lse_t[c] != -INFINITY && visible(p, mask, b, h, q0 + c, k0 + ty + TY * i);
                float2 pg = prob_and_grad(live, s[i][j], dp[i][j], scale, lse_t[c], delta_t[c]);
                pt[e] = pg.x;
                dst[e] = pg.y;
            }
        }
        __syncwarp();                                     // this warp's Pᵀ, dSᵀ rows are written
        tile_mul<BWD_RI, BWD_B, DMAX>(dva, pt, gt);
        tile_mul<BWD_RI, BWD_B, DMAX>(dka, dst, qt);
    }
    store_rows<BWD_RI, DMAX>(dk + bh * p.tk * p.d, dka, k0, p.tk, p.d);
    store_rows<BWD_RI, DMAX>(dv + bh * p.tk * p.d, dva, k0, p.tk, p.d);
}

// Shared memory of attn_bwd_dq: Q, dO, K, V tiles and a dS tile.
template <int DMAX>
constexpr int bwd_dq_smem() {
    return (4 * BWD_B * (DMAX + 1) + BWD_B * (BWD_B + 1)) * (int) sizeof(float);
}

static_assert(bwd_dq_smem<128>() <= MAX_SMEM, "dQ tiles too large");

// Block (bh, tile): queries [32·tile, +32) of bh. For each key tile they may see, S = Q·Kᵀ,
// dP = dO·Vᵀ, then dq += dS·K in registers.
template <int DMAX>
__device__ void bwd_dq(const float* q, const float* k, const float* v, const float* dout, const float* lse,
                       const float* delta, const unsigned char* mask, const Problem& p, float scale, float* dq) {
    constexpr int P = DMAX + 1, DJ = DMAX / TX;
    extern __shared__ float smem[];
    float* qt = smem;
    float* gt = qt + BWD_B * P;
    float* kt = gt + BWD_B * P;
    float* vt = kt + BWD_B * P;
    float* dst = vt + BWD_B * P;                          // dS, pitch BWD_B + 1
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
    const int bh = blockIdx.x, b = bh / p.heads, h = bh % p.heads, q0 = blockIdx.y * BWD_B;
    const float* kh = k + b * p.k.b + h * p.k.h;
    const float* vh = v + b * p.v.b + h * p.v.h;
    load_rows<BWD_B, DMAX>(qt, q + b * p.q.b + h * p.q.h, p.q.t, q0, p.tq, p.d);
    load_rows<BWD_B, DMAX>(gt, dout + b * p.dout.b + h * p.dout.h, p.dout.t, q0, p.tq, p.d);
    float lr[BWD_RI], dr[BWD_RI];                         // lse and delta of the thread's rows
#pragma unroll
    for (int i = 0; i < BWD_RI; i++) {
        int qi = q0 + ty + TY * i;
        lr[i] = qi < p.tq ? lse[bh * p.tq + qi] : -INFINITY;
        dr[i] = qi < p.tq ? delta[bh * p.tq + qi] : 0.f;
    }

    float dqa[BWD_RI][DJ] = {};
    const int k_end = key_end(p, q0 + BWD_B);
    for (int k0 = 0; k0 < k_end; k0 += BWD_B) {
        __syncthreads();                                  // the previous K, V tiles are consumed
        load_rows<BWD_B, DMAX>(kt, kh, p.k.t, k0, p.tk, p.d);
        load_rows<BWD_B, DMAX>(vt, vh, p.v.t, k0, p.tk, p.d);
        __syncthreads();
        float s[BWD_RI][BWD_CJ] = {}, dp[BWD_RI][BWD_CJ] = {};
        tile_dot<BWD_RI, BWD_CJ, DMAX>(s, qt, kt);
        tile_dot<BWD_RI, BWD_CJ, DMAX>(dp, gt, vt);
#pragma unroll
        for (int i = 0; i < BWD_RI; i++) {
#pragma unroll
            for (int j = 0; j < BWD_CJ; j++) {
                int r = ty + TY * i, c = tx + TX * j;
                bool live = lr[i] != -INFINITY && visible(p, mask, b, h, q0 + r, k0 + c);
                dst[r * (BWD_B + 1) + c] = prob_and_grad(live, s[i][j], dp[i][j], scale, lr[i], dr[i]).y;
            }
        }
        __syncwarp();                                     // this warp's dS rows are written
        tile_mul<BWD_RI, BWD_B, DMAX>(dqa, dst, kt);
    }
    store_rows<BWD_RI, DMAX>(dq + bh * p.tq * p.d, dqa, q0, p.tq, p.d);
}

constexpr int ROWS_THREADS = 128;

// One warp per (batch, head) bh (4 per block of 128), for a few keys: first each key j with
// dv_j = Σ_i p_ij do_i and dk_j = Σ_i ds_ij q_i over the queries, then each query with
// dq_i = Σ_j ds_ij k_j; (p, ds) are recomputed pair by pair, lanes splitting D.
template <int DMAX>
__device__ void bwd_rows(const float* q, const float* k, const float* v, const float* dout, const float* lse,
                         const float* delta, const unsigned char* mask, const Problem& p, float scale, int bhs,
                         float* dq, float* dk, float* dv) {
    constexpr int DL = DMAX / 32;
    const int lane = threadIdx.x & 31, bh = blockIdx.x * (ROWS_THREADS / 32) + (threadIdx.x >> 5);
    if (bh >= bhs) return;
    const int b = bh / p.heads, h = bh % p.heads;
    const float* qh = q + b * p.q.b + h * p.q.h;
    const float* kh = k + b * p.k.b + h * p.k.h;
    const float* vh = v + b * p.v.b + h * p.v.h;
    const float* gh = dout + b * p.dout.b + h * p.dout.h;
    const float* lh = lse + bh * p.tq;
    const float* dh = delta + bh * p.tq;
    float qr[DL], gr[DL], kr[DL], vr[DL];
    // (p_ij, ds_ij) for the rows now in qr, gr, kr, vr.
    auto pair = [&](int i, int j) {
        bool live = lh[i] != -INFINITY && visible(p, mask, b, h, i, j);
        return prob_and_grad(live, lane_dot<DMAX>(qr, kr), lane_dot<DMAX>(gr, vr), scale, lh[i], dh[i]);
    };
    for (int j = 0; j < p.tk; j++) {
        float dka[DL] = {}, dva[DL] = {};
        load_lane_row<DMAX>(kr, kh + j * p.k.t, p.d);
        load_lane_row<DMAX>(vr, vh + j * p.v.t, p.d);
        for (int i = 0; i < p.tq; i++) {
            load_lane_row<DMAX>(qr, qh + i * p.q.t, p.d);
            load_lane_row<DMAX>(gr, gh + i * p.dout.t, p.d);
            float2 pg = pair(i, j);
#pragma unroll
            for (int t = 0; t < DL; t++) {
                dva[t] = fmaf(pg.x, gr[t], dva[t]);
                dka[t] = fmaf(pg.y, qr[t], dka[t]);
            }
        }
#pragma unroll
        for (int t = 0; t < DL; t++) {
            int c = lane + 32 * t;
            if (c < p.d) {
                dk[(bh * p.tk + j) * p.d + c] = dka[t];
                dv[(bh * p.tk + j) * p.d + c] = dva[t];
            }
        }
    }
    for (int i = 0; i < p.tq; i++) {
        float dqa[DL] = {};
        load_lane_row<DMAX>(qr, qh + i * p.q.t, p.d);
        load_lane_row<DMAX>(gr, gh + i * p.dout.t, p.d);
        for (int j = 0; j < p.tk; j++) {
            load_lane_row<DMAX>(kr, kh + j * p.k.t, p.d);
            load_lane_row<DMAX>(vr, vh + j * p.v.t, p.d);
            float ds = pair(i, j).y;
#pragma unroll
            for (int t = 0; t < DL; t++) dqa[t] = fmaf(ds, kr[t], dqa[t]);
        }
#pragma unroll
        for (int t = 0; t < DL; t++) {
            int c = lane + 32 * t;
            if (c < p.d) dq[(bh * p.tq + i) * p.d + c] = dqa[t];
        }
    }
}

// ------------------------------------------------------------------ entry points per head dim

#define ATTENTION_KERNELS(DMAX)                                                                                       \
    extern "C" __global__ void __launch_bounds__(TILE_THREADS) attn_fwd_tiled_##DMAX(                                 \
            const float* q, const float* k, const float* v, const unsigned char* mask, Problem p, float scale,       \
            float* out, float* lse) {                                                                                 \
        fwd_tiled<DMAX>(q, k, v, mask, p, scale, out, lse);                                                           \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(SPLIT_THREADS) attn_fwd_split_##DMAX(                                \
            const float* q, const float* k, const float* v, const unsigned char* mask, Problem p, float scale,       \
            int chunk, float* out, float* lse, float* partial) {                                                      \
        fwd_split<DMAX>(q, k, v, mask, p, scale, chunk, out, lse, partial);                                           \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(TILE_THREADS) attn_bwd_dkdv_##DMAX(                                  \
            const float* q, const float* k, const float* v, const float* dout, const float* lse, const float* delta, \
            const unsigned char* mask, Problem p, float scale, float* dk, float* dv) {                                \
        bwd_dkdv<DMAX>(q, k, v, dout, lse, delta, mask, p, scale, dk, dv);                                            \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(TILE_THREADS) attn_bwd_dq_##DMAX(                                    \
            const float* q, const float* k, const float* v, const float* dout, const float* lse, const float* delta, \
            const unsigned char* mask, Problem p, float scale, float* dq) {                                           \
        bwd_dq<DMAX>(q, k, v, dout, lse, delta, mask, p, scale, dq);                                                  \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(ROWS_THREADS) attn_bwd_rows_##DMAX(                                  \
            const float* q, const float* k, const float* v, const float* dout, const float* lse, const float* delta, \
            const unsigned char* mask, Problem p, float scale, int bhs, float* dq, float* dk, float* dv) {           \
        bwd_rows<DMAX>(q, k, v, dout, lse, delta, mask, p, scale, bhs, dq, dk, dv);                                   \
    }

ATTENTION_KERNELS(32)
ATTENTION_KERNELS(64)
ATTENTION_KERNELS(96)
ATTENTION_KERNELS(128)
