// Softmax and log-softmax over the last dim and their gradients; cross-entropy of logits [N, C]
// against integer targets and its gradient. CPU twin: backend/cpu/CpuSoftmax.java (same
// formulas, same treatment of rows that are all -inf, hold +inf or hold NaN).
//
// Each row (contiguous, n floats) belongs to one warp (short rows: 8 rows per block of 256) or
// to a whole block (long rows); the wrapper picks with warp_rows. The maximum and the sum of
// exponentials are gathered in one pass (online): a thread keeps its running maximum m and
// s = Σ exp(x - m), rescaling s by exp(m - x) when an element x raises m; the threads then
// merge as M = max m_t, S = Σ s_t·exp(m_t - M). A second pass writes the outputs (the row is
// still in cache). Rows whose length is a multiple of 4 and whose start is 16-byte aligned are
// moved with float4 accesses (V = 4).
#include "common.cuh"


// The threads that own one row: a warp (warp_rows != 0; row = warp index in the grid) or the
// whole block (row = block index). Calls of sum/max must be made by all of them together.
struct RowGroup {
    int row, lane, size;
    bool warp;

    __device__ explicit RowGroup(int warp_rows) : warp(warp_rows != 0) {
        row = warp ? blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5) : blockIdx.x;
        lane = warp ? threadIdx.x & 31 : threadIdx.x;
        size = warp ? 32 : blockDim.x;
    }

    __device__ float sum(float v, float* scratch) const { return warp ? warp_sum(v) : block_sum(v, scratch); }

    __device__ float max(float v, float* scratch) const { return warp ? warp_max(v) : block_max(v, scratch); }
};

// Running maximum m and s = Σ exp(x - m) of the elements seen (m = -inf, s = 0 before any).
struct MaxSum {
    float m = -INFINITY, s = 0.f;

    __device__ void add(float x) {
        if (x > m) {                                      // a new maximum: rescale what s holds
            s = s * expf(m - x) + 1.f;
            m = x;
        } else if (x != -INFINITY) {                      // (-inf adds 0; also avoids -inf - -inf)
            s += expf(x - m);                             // NaN stays NaN, as on the CPU
        }
    }
};

// The row's (M, S) from every thread's (m, s). A thread that saw only -inf (and NaN) brings its
// s as is: 0, or NaN. A +inf in the row gives S = NaN through exp(inf - inf), as on the CPU.
__device__ __forceinline__ MaxSum merge(const RowGroup& g, MaxSum a, float* scratch) {
    MaxSum r;
    r.m = g.max(a.m, scratch);
    r.s = g.sum(a.m == -INFINITY ? a.s : a.s * expf(a.m - r.m), scratch);
    return r;
}

// Applies f(x, index in row) to the row's elements in V-wide packs, writing the results to out.
template <int V, typename F>
__device__ __forceinline__ void map_row(const RowGroup& g, const float* in, float* out, int n, F f) {
    for (int e = g.lane * V; e < n; e += g.size * V) {
        Pack<V> p = load<V>(in, e);
#pragma unroll
        for (int k = 0; k < V; k++) p.v[k] = f(p.v[k], e + k);
        store<V>(out, e, p);
    }
}

template <int V>
__device__ __forceinline__ MaxSum row_max_sum(const RowGroup& g, const float* x, int n, float* scratch) {
    MaxSum a;
    for (int e = g.lane * V; e < n; e += g.size * V) {
        Pack<V> p = load<V>(x, e);
#pragma unroll
        for (int k = 0; k < V; k++) a.add(p.v[k]);
    }
    return merge(g, a, scratch);
}

// ------------------------------------------------------------------ softmax

// y = exp(x - M) / S, or log-softmax y = x - (M + log S). A row of -inf only shifts by 0 and
// gives NaN (0/0, and -inf - -inf), as in CpuSoftmax and PyTorch.
template <int V>
__device__ void softmax_forward(const float* x, float* y, int rows, int n, int warp_rows, int as_log) {
    __shared__ float scratch[32];
    RowGroup g(warp_rows);
    if (g.row >= rows) return;
    const float* xr = x + (size_t) g.row * n;
    MaxSum a = row_max_sum<V>(g, xr, n, scratch);
    float shift = a.m == -INFINITY ? 0.f : a.m, lse = shift + logf(a.s), inv = 1.f / a.s;
    map_row<V>(g, xr, y + (size_t) g.row * n, n, [&](float v, int) { return as_log ? v - lse : expf(v - shift) * inv; });
}

// softmax: dx = y·(dy - Σ dy·y);  log-softmax: dx = dy - exp(y)·Σ dy.
template <int V>
__device__ void softmax_backward(const float* y, const float* dy, float* dx, int rows, int n, int warp_rows, int as_log) {
    __shared__ float scratch[32];
    RowGroup g(warp_rows);
    if (g.row >= rows) return;
    const float* yr = y + (size_t) g.row * n;
    const float* gr = dy + (size_t) g.row * n;
    float* dr = dx + (size_t) g.row * n;
    float acc = 0.f;
    for (int e = g.lane * V; e < n; e += g.size * V) {
        Pack<V> gp = load<V>(gr, e), yp = load<V>(yr, e);
#pragma unroll
        for (int k = 0; k < V; k++) acc = as_log ? acc + gp.v[k] : fmaf(gp.v[k], yp.v[k], acc);
    }
    float s = g.sum(acc, scratch);
    for (int e = g.lane * V; e < n; e += g.size * V) {
        Pack<V> gp = load<V>(gr, e), yp = load<V>(yr, e);
#pragma unroll
        for (int k = 0; k < V; k++) gp.v[k] = as_log ? gp.v[k] - expf(yp.v[k]) * s : yp.v[k] * (gp.v[k] - s);
        store<V>(dr, e, gp);
    }
}

// ------------------------------------------------------------------ cross-entropy

// Target of row r: int64 or int32 class indices with stride `stride`.
__device__ __forceinline__ long long target_at(const void* targets, int is64, int stride, int r) {
    return is64 ? ((const long long*) targets)[(size_t) r * stride] : (long long) ((const int*) targets)[(size_t) r * stride];
}

// lse[r] = M + log S of the logits row (NaN for a row of -inf only: the CPU shifts by the -inf
// maximum there, exp(-inf + inf)); loss[r] = lse - x[target], or 0 where the target is ignore_index. The wrapper
// has checked that the other targets are classes; one out of range would give NaN here.
template <int V>
__device__ void cross_entropy_forward(const float* x, int rows, int n, const void* targets, int is64, int tstride,
                                      long long ignore, int warp_rows, float* loss, float* lse) {
    __shared__ float scratch[32];
    RowGroup g(warp_rows);
    if (g.row >= rows) return;
    const float* xr = x + (size_t) g.row * n;
    MaxSum a = row_max_sum<V>(g, xr, n, scratch);
    if (g.lane != 0) return;
    float l = a.m == -INFINITY && n > 0 ? NAN : a.m + logf(a.s);
    long long t = target_at(targets, is64, tstride, g.row);
    lse[g.row] = l;
    loss[g.row] = t == ignore ? 0.f : t >= 0 && t < n ? l - xr[t] : NAN;
}

// dx = exp(x - lse)·g, minus g at the target (g = dloss[row]); rows with ignore_index get 0.
// lse and dloss are read with strides (dloss is often one value expanded over the rows).
template <int V>
__device__ void cross_entropy_backward(const float* x, int rows, int n, const void* targets, int is64, int tstride,
                                       const float* lse, int lstride, const float* dloss, int gstride, long long ignore,
                                       int warp_rows, float* dx) {
    RowGroup g(warp_rows);
    if (g.row >= rows) return;
    long long t = target_at(targets, is64, tstride, g.row);
    bool ignored = t == ignore;
    float l = lse[(size_t) g.row * lstride], gr = dloss[(size_t) g.row * gstride];
    map_row<V>(g, x + (size_t) g.row * n, dx + (size_t) g.row * n, n, [&](float v, int e) {
        if (ignored) return 0.f;
        float d = expf(v - l) * gr;
        return e == t ? d - gr : d;
    });
}

// ------------------------------------------------------------------ entry points (V = 1, 4)

#define SOFTMAX_KERNELS(V)                                                                                             \
    extern "C" __global__ void softmax_forward_v##V(const float* x, float* y, int rows, int n, int warp_rows, int as_log) { \
        softmax_forward<V>(x, y, rows, n, warp_rows, as_log);                                                             \
    }                                                                                                                  \
    extern "C" __global__ void softmax_backward_v##V(const float* y, const float* dy, float* dx, int rows, int n,      \
                                                     int warp_rows, int as_log) {                                         \
        softmax_backward<V>(y, dy, dx, rows, n, warp_rows, as_log);                                                       \
    }                                                                                                                  \
    extern "C" __global__ void cross_entropy_forward_v##V(const float* x, int rows, int n, const void* targets,         \
                                                          int is64, int tstride, long long ignore, int warp_rows,      \
                                                          float* loss, float* lse) {                                   \
        cross_entropy_forward<V>(x, rows, n, targets, is64, tstride, ignore, warp_rows, loss, lse);                    \
    }                                                                                                                  \
    extern "C" __global__ void cross_entropy_backward_v##V(const float* x, int rows, int n, const void* targets,        \
                                                           int is64, int tstride, const float* lse, int lstride,       \
                                                           const float* dloss, int gstride, long long ignore,          \
                                                           int warp_rows, float* dx) {                                 \
        cross_entropy_backward<V>(x, rows, n, targets, is64, tstride, lse, lstride, dloss, gstride, ignore, warp_rows, dx); \
    }

SOFTMAX_KERNELS(1)
SOFTMAX_KERNELS(4)
