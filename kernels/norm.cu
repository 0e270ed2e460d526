// GroupNorm (optional affine tables of shape [C] or [B, C], optional fused SiLU) and RMSNorm,
// forward and backward. CPU twin: backend/cpu/CpuNorm.java, whose formulas these mirror.
//
// GroupNorm: a group of one sample is a contiguous run of n = (C/G)·HW floats. Its statistics
// take two kernels so that even batch 1 fills the GPU: gn_chunk_stats splits each group into
// chunks of GN_CHUNK floats (one block each) and gives each chunk's mean and M2 = Σ (x - mean)²
// (two passes over registers: no cancellation); gn_stats combines the chunks exactly (Chan et
// al.: M2 = Σ M2_i + Σ n_i (mean_i - mean)²) and turns mean and rstd into one fused
// multiply-add per (sample, channel), y = x·a + b with a = rstd·γ_c, b = β_c - mean·a, which
// gn_apply applies element by element. CudaNorm launches these kernels (and the backward's) once
// per block of whole groups sized to a third of L2, `first` naming the block's first group, so
// each block's second pass over its input is served by L2 rather than memory.
#include "common.cuh"

// Pack, load and store (common.cuh) move V floats at once: the callers choose V = 4 only for
// 16-byte aligned rows whose length is a multiple of 4.

__device__ __forceinline__ float sigmoid(float v) {
    return 1.f / (1.f + expf(-v));
}

// 1 / sqrt(var + eps) as CpuNorm rounds it: the float sum, then the root in double.
__device__ __forceinline__ float inv_std(float var, float eps) {
    return (float) (1.0 / sqrt((double) (var + eps)));
}

constexpr int GN_THREADS = 256;
constexpr int GN_ITEMS = 8;                        // floats per thread in one chunk
constexpr int GN_CHUNK = GN_THREADS * GN_ITEMS;    // floats per block

// ------------------------------------------------------------------ GroupNorm forward

// Block (i, p), GN_THREADS threads: chunk p of group i of x (x starts at the launch's first
// group). Writes partial[i·P + p] = (chunk mean, chunk M2). n % V == 0, so a pack never
// straddles the end.
template <int V>
__device__ void gn_chunk_stats(const float* x, int n, float2* partial) {
    __shared__ float scratch[32];
    const float* group = x + (size_t) blockIdx.x * n;
    int start = blockIdx.y * GN_CHUNK, count = min(GN_CHUNK, n - start);
    float v[GN_ITEMS];
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < GN_ITEMS / V; j++) {
        int e = (j * GN_THREADS + threadIdx.x) * V;    // offset in the chunk
        Pack<V> p = {};
        if (e < count) p = load<V>(group, start + e);
#pragma unroll
        for (int k = 0; k < V; k++) {
            v[j * V + k] = p.v[k];
            sum += p.v[k];
        }
    }
    float mean = block_sum(sum, scratch) / count;
    float m2 = 0.f;
#pragma unroll
    for (int j = 0; j < GN_ITEMS / V; j++) {
        if ((j * GN_THREADS + threadIdx.x) * V < count) {
#pragma unroll
            for (int k = 0; k < V; k++) {
                float d = v[j * V + k] - mean;
                m2 += d * d;
            }
        }
    }
    m2 = block_sum(m2, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x * gridDim.y + blockIdx.y] = make_float2(mean, m2);
}

extern "C" __global__ void gn_chunk_stats_v4(const float* x, int n, float2* partial) { gn_chunk_stats<4>(x, n, partial); }
extern "C" __global__ void gn_chunk_stats_v1(const float* x, int n, float2* partial) { gn_chunk_stats<1>(x, n, partial); }

// Entry (b, c) of an affine table that is null (then dflt), [C] or [B, C] (per_sample).
__device__ __forceinline__ float affine_entry(const float* table, int per_sample, int channels, int b, int c, float dflt) {
    return table ? table[per_sample ? b * channels + c : c] : dflt;
}

// The coefficients of channel c of sample b: a = rstd·γ, b = β - mean·a (CpuNorm's rounding:
// no fused multiply-add here).
__device__ __forceinline__ float2 gn_affine(const float* scale, int scale_per_sample, const float* shift, int shift_per_sample,
                                            int channels, int b, int c, float mean, float rstd) {
    float a = __fmul_rn(rstd, affine_entry(scale, scale_per_sample, channels, b, c, 1.f));
    return make_float2(a, __fsub_rn(affine_entry(shift, shift_per_sample, channels, b, c, 0.f), __fmul_rn(mean, a)));
}

// Block i (one per group, blockDim a multiple of 32): combines the P = chunks chunk statistics
// partial[i·P ..] of group t = first + i into mean[t] and rstd[t] (variance = M2 / n, biased
// like torch), and writes the coefficients coef[b·C + c] = (a, b) of the group's C/G channels.
extern "C" __global__ void gn_stats(const float2* partial, int chunks, int n, float eps, int first, int groups, int channels,
                                    const float* scale, int scale_per_sample, const float* shift, int shift_per_sample,
                                    float* mean_out, float* rstd_out, float2* coef) {
    __shared__ float scratch[32];
    int t = first + blockIdx.x, b = t / groups, g = t % groups, cpg = channels / groups;
    const float2* part = partial + (size_t) blockIdx.x * chunks;
    float sum = 0.f;
    for (int p = threadIdx.x; p < chunks; p += blockDim.x) sum += part[p].x * min(GN_CHUNK, n - p * GN_CHUNK);
    float mean = block_sum(sum, scratch) / n;
    float m2 = 0.f;
    for (int p = threadIdx.x; p < chunks; p += blockDim.x) {
        float d = part[p].x - mean;
        m2 += part[p].y + min(GN_CHUNK, n - p * GN_CHUNK) * d * d;
    }
    float rstd = inv_std(block_sum(m2, scratch) / n, eps);
    if (threadIdx.x == 0) {
        mean_out[t] = mean;
        rstd_out[t] = rstd;
    }
    for (int cc = threadIdx.x; cc < cpg; cc += blockDim.x) {
        int c = g * cpg + cc;
        coef[b * channels + c] = gn_affine(scale, scale_per_sample, shift, shift_per_sample, channels, b, c, mean, rstd);
    }
}

// y = x·a + b per (sample, channel) row of hw floats (hw % V == 0), then silu(y) = y·σ(y).
template <int V>
__device__ void gn_apply(const float* x, const float2* coef, int hw, int packs, int silu, float* y) {
    FOR_EACH(i, packs) {
        int e = i * V;
        float2 k = coef[e / hw];
        Pack<V> p = load<V>(x, e);
#pragma unroll
        for (int j = 0; j < V; j++) {
            float v = fmaf(p.v[j], k.x, k.y);
            p.v[j] = silu ? v * sigmoid(v) : v;
        }
        store<V>(y, e, p);
    }
}

extern "C" __global__ void gn_apply_v4(const float* x, const float2* coef, int hw, int packs, int silu, float* y) { gn_apply<4>(x, coef, hw, packs, silu, y); }
extern "C" __global__ void gn_apply_v1(const float* x, const float2* coef, int hw, int packs, int silu, float* y) { gn_apply<1>(x, coef, hw, packs, silu, y); }

// ------------------------------------------------------------------ GroupNorm backward
//
// With x̂ = (x - mean)·rstd, g = dL/d(normalised output) (dy, or dy·silu'(y) with the fused
// silu) and γ the scale: dx = rstd·(γ·g - mean_group(γ·g) - x̂·mean_group(γ·g·x̂)), which per
// element is dx = A·g + B·x + C' with A = rstd·γ_c (the forward's a), B = -rstd²·m2 and
// C' = -rstd·m1 - B·mean, m1 = Σ_group γ·g / n, m2 = Σ_group γ·g·x̂ / n. The affine gradients
// are dγ_c = Σ g·x̂ and dβ_c = Σ g over the (sample, channel) row. Three kernels:
// gn_backward_rows (partial Σ g and Σ g·(x - mean) per chunk of a row), gn_backward_groups
// (the row sums, the affine gradients, and (A, b, B, C') per row) and gn_backward_dx.

// dL/d(normalised output) from dy: with silu, silu'(y) = σ(y)·(1 + y·(1 - σ(y))), y = x·a + b
// recomputed.
__device__ __forceinline__ float gn_output_grad(float dy, float x, float a, float b, int silu) {
    if (!silu) return dy;
    float y = fmaf(x, a, b), s = sigmoid(y);
    return dy * (s * (y * (1.f - s) + 1.f));
}

// The coefficients (a, b) of every row (b·C + c), from the saved statistics (one thread per row).
extern "C" __global__ void gn_coefficients(const float* mean, const float* rstd, int rows, int groups, int channels,
                                           const float* scale, int scale_per_sample, const float* shift, int shift_per_sample,
                                           float2* coef) {
    FOR_EACH(bc, rows) {
        int b = bc / channels, c = bc % channels, t = b * groups + c / (channels / groups);
        coef[bc] = gn_affine(scale, scale_per_sample, shift, shift_per_sample, channels, b, c, mean[t], rstd[t]);
    }
}

// Block (i, q), GN_THREADS threads: chunk q of row bc = first·C/G + i (hw floats, hw % V == 0;
// first is the first group of the launch). Writes partial[i·Q + q] = (Σ g, Σ g·(x - mean)): the
// deviation form keeps Σ g·x̂ free of the cancellation in Σ g·x - mean·Σ g.
template <int V>
__device__ void gn_backward_rows(const float* dy, const float* x, const float2* coef, const float* mean, int hw, int first, int groups,
                                 int channels, int silu, float2* partial) {
    __shared__ float scratch[32];
    int bc = first * (channels / groups) + blockIdx.x, start = blockIdx.y * GN_CHUNK, end = min(hw, start + GN_CHUNK);
    size_t row = (size_t) bc * hw;
    float2 k = coef[bc];
    float mu = mean[(bc / channels) * groups + (bc % channels) / (channels / groups)];
    float s_g = 0.f, s_gx = 0.f;
    for (int e = start + threadIdx.x * V; e < end; e += GN_THREADS * V) {
        Pack<V> xp = load<V>(x + row, e), gp = load<V>(dy + row, e);
#pragma unroll
        for (int j = 0; j < V; j++) {
            float g = gn_output_grad(gp.v[j], xp.v[j], k.x, k.y, silu);
            s_g += g;
            s_gx += g * (xp.v[j] - mu);
        }
    }
    s_g = block_sum(s_g, scratch);
    s_gx = block_sum(s_gx, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x * gridDim.y + blockIdx.y] = make_float2(s_g, s_gx);
}

extern "C" __global__ void gn_backward_rows_v4(const float* dy, const float* x, const float2* coef, const float* mean, int hw, int first,
                                               int groups, int channels, int silu, float2* partial) {
    gn_backward_rows<4>(dy, x, coef, mean, hw, first, groups, channels, silu, partial);
}
extern "C" __global__ void gn_backward_rows_v1(const float* dy, const float* x, const float2* coef, const float* mean, int hw, int first,
                                               int groups, int channels, int silu, float2* partial) {
    gn_backward_rows<1>(dy, x, coef, mean, hw, first, groups, channels, silu, partial);
}

// Block i (one per group t = first + i, blockDim a multiple of 32; warp w takes channels w,
// w + warps, ...): sums each row's Q = chunks partials (gn_backward_rows' of the same launch
// range), writes dshift = Σ g and dscale = rstd·Σ g·(x - mean) (each optional, [B, C]), and
// bcoef[row] = (A, b, B, C') for gn_backward_dx.
extern "C" __global__ void gn_backward_groups(const float2* partial, int chunks, const float* mean, const float* rstd, int first, int groups,
                                              int channels, int hw, const float* scale, int scale_per_sample, const float* shift,
                                              int shift_per_sample, float* dscale, float* dshift, float4* bcoef) {
    __shared__ float scratch[32];
    int t = first + blockIdx.x, b = t / groups, g = t % groups, cpg = channels / groups;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    float mu = mean[t], r = rstd[t];
    float s1 = 0.f, s2 = 0.f;    // Σ γ·Σg and Σ γ·Σg·x̂ over the warp's channels (lane 0)
    for (int cc = warp; cc < cpg; cc += warps) {
        int bc = b * channels + g * cpg + cc;
        float s_g = 0.f, s_gx = 0.f;
        for (int q = lane; q < chunks; q += 32) {
            float2 p = partial[((size_t) blockIdx.x * cpg + cc) * chunks + q];
            s_g += p.x;
            s_gx += p.y;
        }
        s_g = warp_sum(s_g);
        float s_gxhat = __fmul_rn(r, warp_sum(s_gx));
        if (lane == 0) {
            if (dshift) dshift[bc] = s_g;
            if (dscale) dscale[bc] = s_gxhat;
            float gamma = affine_entry(scale, scale_per_sample, channels, b, g * cpg + cc, 1.f);
            s1 += gamma * s_g;
            s2 += gamma * s_gxhat;
        }
    }
    float n = (float) (cpg * hw);
    float m1 = block_sum(s1, scratch) / n, m2 = block_sum(s2, scratch) / n;
    float cb = __fmul_rn(__fmul_rn(-r, r), m2), cc0 = __fsub_rn(__fmul_rn(-r, m1), __fmul_rn(cb, mu));
    for (int cc = threadIdx.x; cc < cpg; cc += blockDim.x) {
        int c = g * cpg + cc;
        float2 k = gn_affine(scale, scale_per_sample, shift, shift_per_sample, channels, b, c, mu, r);
        bcoef[b * channels + c] = make_float4(k.x, k.y, cb, cc0);
    }
}

// dx = A·g + (B·x + C') per element, g recomputed from dy (hw % V == 0).
template <int V>
__device__ void gn_backward_dx(const float* dy, const float* x, const float4* bcoef, int hw, int packs, int silu, float* dx) {
    FOR_EACH(i, packs) {
        int e = i * V;
        float4 k = bcoef[e / hw];
        Pack<V> xp = load<V>(x, e), gp = load<V>(dy, e);
#pragma unroll
        for (int j = 0; j < V; j++) {
            float g = gn_output_grad(gp.v[j], xp.v[j], k.x, k.y, silu);
            gp.v[j] = __fadd_rn(__fmul_rn(g, k.x), fmaf(xp.v[j], k.z, k.w));
        }
        store<V>(dx, e, gp);
    }
}

extern "C" __global__ void gn_backward_dx_v4(const float* dy, const float* x, const float4* bcoef, int hw, int packs, int silu, float* dx) {
    gn_backward_dx<4>(dy, x, bcoef, hw, packs, silu, dx);
}
extern "C" __global__ void gn_backward_dx_v1(const float* dy, const float* x, const float4* bcoef, int hw, int packs, int silu, float* dx) {
    gn_backward_dx<1>(dy, x, bcoef, hw, packs, silu, dx);
}

// ------------------------------------------------------------------ RMSNorm
//
// One block per row of d floats (d % V == 0, blockDim a multiple of 32). Forward:
// y = x·rstd·w with rstd = 1/sqrt(mean(x²) + eps). Backward: dx = rstd·(dy·w) + x·k with
// k = -rstd³·Σ(dy·w·x)/d; dw = Σ_rows dy·x·rstd, summed over fixed blocks of RMS_ROWS rows and
// then over the blocks in order, as CpuNorm does (the same result for any grid).

constexpr int RMS_ROWS = 64;

template <int V>
__device__ void rms_forward(const float* x, const float* w, int d, float eps, float* y, float* rstd) {
    __shared__ float scratch[32];
    size_t row = (size_t) blockIdx.x * d;
    float s = 0.f;
    for (int e = threadIdx.x * V; e < d; e += blockDim.x * V) {
        Pack<V> p = load<V>(x + row, e);
#pragma unroll
        for (int j = 0; j < V; j++) s = fmaf(p.v[j], p.v[j], s);
    }
    float rs = inv_std(block_sum(s, scratch) / d, eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = rs;
    for (int e = threadIdx.x * V; e < d; e += blockDim.x * V) {
        Pack<V> p = load<V>(x + row, e), wp = load<V>(w, e);
#pragma unroll
        for (int j = 0; j < V; j++) p.v[j] = __fmul_rn(p.v[j], rs) * wp.v[j];
        store<V>(y + row, e, p);
    }
}

extern "C" __global__ void rms_forward_v4(const float* x, const float* w, int d, float eps, float* y, float* rstd) { rms_forward<4>(x, w, d, eps, y, rstd); }
extern "C" __global__ void rms_forward_v1(const float* x, const float* w, int d, float eps, float* y, float* rstd) { rms_forward<1>(x, w, d, eps, y, rstd); }

template <int V>
__device__ void rms_backward_dx(const float* dy, const float* x, const float* w, const float* rstd, int d, float* dx) {
    __shared__ float scratch[32];
    size_t row = (size_t) blockIdx.x * d;
    float rs = rstd[blockIdx.x], dot = 0.f;
    for (int e = threadIdx.x * V; e < d; e += blockDim.x * V) {
        Pack<V> gp = load<V>(dy + row, e), xp = load<V>(x + row, e), wp = load<V>(w, e);
#pragma unroll
        for (int j = 0; j < V; j++) dot = fmaf(__fmul_rn(gp.v[j], wp.v[j]), xp.v[j], dot);
    }
    float k = -rs * rs * rs * block_sum(dot, scratch) / d;
    for (int e = threadIdx.x * V; e < d; e += blockDim.x * V) {
        Pack<V> gp = load<V>(dy + row, e), xp = load<V>(x + row, e), wp = load<V>(w, e);
#pragma unroll
        for (int j = 0; j < V; j++) gp.v[j] = __fmul_rn(__fmul_rn(gp.v[j], wp.v[j]), rs) + xp.v[j] * k;
        store<V>(dx + row, e, gp);
    }
}

extern "C" __global__ void rms_backward_dx_v4(const float* dy, const float* x, const float* w, const float* rstd, int d, float* dx) {
    rms_backward_dx<4>(dy, x, w, rstd, d, dx);
}
extern "C" __global__ void rms_backward_dx_v1(const float* dy, const float* x, const float* w, const float* rstd, int d, float* dx) {
    rms_backward_dx<1>(dy, x, w, rstd, d, dx);
}

// Block (r, cb): column j = cb·blockDim + thread of dw, summed over rows [r·RMS_ROWS, +RMS_ROWS):
// partial[r·d + j] (coalesced along j).
extern "C" __global__ void rms_dweight_partial(const float* dy, const float* x, const float* rstd, int rows, int d, float* partial) {
    int j = blockIdx.y * blockDim.x + threadIdx.x;
    if (j >= d) return;
    int r0 = blockIdx.x * RMS_ROWS, r1 = min(rows, r0 + RMS_ROWS);
    float acc = 0.f;
    for (int r = r0; r < r1; r++) {
        size_t at = (size_t) r * d + j;
        acc += __fmul_rn(dy[at], x[at]) * rstd[r];
    }
    partial[(size_t) blockIdx.x * d + j] = acc;
}

// dw[j] = Σ over the row blocks in order of partial[r·d + j].
extern "C" __global__ void rms_dweight_sum(const float* partial, int blocks, int d, float* dw) {
    FOR_EACH(j, d) {
        float s = 0.f;
        for (int r = 0; r < blocks; r++) s += partial[(size_t) r * d + j];
        dw[j] = s;
    }
}
