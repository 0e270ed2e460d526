// Reductions: sum / mean / max / min and the variance's sum of squared deviations over a
// contiguous tensor seen as (outer, r, inner), r the reduced extent; and argmax along rows.
// CPU twin: backend/cpu/CpuReduce.java.
//
// Also the sum of squares over a list of tensors (a global gradient norm), in two deterministic
// passes: sum_squares_partials, then a SUM of its partials.
//
// Every accumulator is a double: a sum over millions of floats then carries no visible rounding
// (the CPU's float sums in blocks are within its own rounding of the exact sum), and max / min
// of floats are exact in double. Max and min propagate NaN like Java's Math.max.
//
// Two shapes of work (CudaReduce picks one per pass):
// - rows (inner == 1, many rows): a group of G lanes of one warp (G a power of two <= 32)
//   reduces one row, reading it in float4 when the rows are 16-byte aligned;
// - columns (inner > 1, or few long rows as inner == 1): a block reduces a tile of W adjacent
//   columns over one segment of the rows, its threads being RP row lanes of W columns, so for
//   W == inner each step reads RP·W consecutive floats. When the tiles alone are too few to
//   fill the GPU, r is cut into gridDim.y segments whose results go to a double buffer
//   [outer, segments, inner], which the next pass reduces as (outer, segments, inner).
#include <type_traits>
#include "packed.cuh"

// The order of Backend.ReduceOp, SUM standing for MEAN too (CudaReduce scales the result).
enum ReduceCode { R_SUM = 0, R_MAX = 2, R_MIN = 3 };

struct SumOp {
    static __device__ __forceinline__ double identity() { return 0.0; }
    static __device__ __forceinline__ double combine(double a, double b) { return a + b; }
};

struct MaxOp {
    static __device__ __forceinline__ double identity() { return -INFINITY; }
    static __device__ __forceinline__ double combine(double a, double b) { return a > b || a != a ? a : b; }
};

struct MinOp {
    static __device__ __forceinline__ double identity() { return INFINITY; }
    static __device__ __forceinline__ double combine(double a, double b) { return a < b || a != a ? a : b; }
};

// The value an input element contributes: itself, or (x - center)² rounded as the CPU's float
// math rounds it (variance's second pass; center is only ever given with float input).
template <class T>
__device__ __forceinline__ double term(T x, bool centered, float center) {
    if (!centered) return (double) x;
    float d = (float) x - center;
    return (double) (d * d);
}

// Writes the result at position o: to out_double as it is (a partial or intermediate result for
// a later pass), else to out as a float, times scale (1/n for a mean).
__device__ __forceinline__ void put(float* out, double* out_double, int o, double acc, double scale) {
    if (out_double) out_double[o] = acc;
    else out[o] = (float) (acc * scale);
}

// ------------------------------------------------------------------ rows (inner == 1)

// Group g of G lanes reduces row g: lanes take every G-th element (every G-th float4 when the
// rows are 16-byte aligned), then combine by shuffles. Groups walk the rows warp by warp, so all
// 32 lanes of a warp run the same number of rounds and may shuffle together.
template <class Op, class T>
__device__ void rows(const T* x, int outer, int r, int G, const float* center, float* out, double* out_double, double scale) {
    int lane = threadIdx.x & 31, group = lane / G, glane = lane - group * G, per_warp = 32 / G;
    int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, warps = (gridDim.x * blockDim.x) >> 5;
    bool vec = false;
    if constexpr (std::is_same_v<T, float>) vec = r % 4 == 0 && (reinterpret_cast<uintptr_t>(x) & 15) == 0;
    for (int r0 = warp * per_warp; r0 < outer; r0 += warps * per_warp) {
        int row = r0 + group;
        double acc = Op::identity();
        if (row < outer) {
            const T* p = x + row * r;
            bool centered = center != nullptr;
            float c = centered ? center[row] : 0.f;
            int i = glane;
            if constexpr (std::is_same_v<T, float>) {
                if (vec) {
#pragma unroll 4
                    for (int e = 4 * glane; e < r; e += 4 * G) {
                        float4 v = *reinterpret_cast<const float4*>(p + e);
                        acc = Op::combine(acc, term(v.x, centered, c));
                        acc = Op::combine(acc, term(v.y, centered, c));
                        acc = Op::combine(acc, term(v.z, centered, c));
                        acc = Op::combine(acc, term(v.w, centered, c));
                    }
                    i = r;   // nothing left for the scalar loop
                }
            }
#pragma unroll 4
            for (; i < r; i += G) acc = Op::combine(acc, term(p[i], centered, c));
        }
        for (int o = G / 2; o > 0; o >>= 1) acc = Op::combine(acc, __shfl_xor_sync(0xffffffffu, acc, o));
        if (row < outer && glane == 0) put(out, out_double, row, acc, scale);
    }
}

// ------------------------------------------------------------------ columns (any inner)

constexpr int COL_THREADS = 256;   // at most; the block is RP·W threads

// The block's accumulators for the tree over row lanes: one array for all instantiations of
// columns() (a __shared__ array inside the template would be one per rule).
__device__ __forceinline__ double* column_scratch() {
    __shared__ double scratch[COL_THREADS];
    return scratch;
}

// Block (o·tiles + tile, part): columns [tile·W, tile·W + W) of slab o, rows [part·seg,
// min(r, (part+1)·seg)). Thread t is column t % W of row lane t / W.
template <class Op, class T>
__device__ void columns(const T* x, int outer, int r, int inner, int W, int seg, const float* center,
                        float* out, double* out_double, double scale) {
    double* acc_of = column_scratch();
    int t = threadIdx.x, rp = blockDim.x / W, lane = t / W;
    int tiles = (inner + W - 1) / W, o = blockIdx.x / tiles, j = (blockIdx.x - o * tiles) * W + (t - lane * W);
    int begin = blockIdx.y * seg, end = min(r, begin + seg);
    double acc = Op::identity();
    if (j < inner) {
        const T* p = x + o * r * inner + j;
        bool centered = center != nullptr;
        float c = centered ? center[o * inner + j] : 0.f;
#pragma unroll 4
        for (int k = begin + lane; k < end; k += rp) acc = Op::combine(acc, term(p[k * inner], centered, c));
    }
    // Tree over the row lanes of each column: at step h, lanes [h, 2h) fold into [0, h).
    acc_of[t] = acc;
    __syncthreads();
    int h = 1;
    while (h < rp) h <<= 1;
    for (h >>= 1; h > 0; h >>= 1) {
        if (lane < h && lane + h < rp) acc_of[t] = Op::combine(acc_of[t], acc_of[t + h * W]);
        __syncthreads();
    }
    if (lane == 0 && j < inner) put(out, out_double, (o * gridDim.y + blockIdx.y) * inner + j, acc_of[t], scale);
}

// Runs f(Op()) with the combining rule of op: one branch per launch, not per element.
template <class F>
__device__ __forceinline__ void with_op(int op, F f) {
    if (op == R_MAX) f(MaxOp());
    else if (op == R_MIN) f(MinOp());
    else f(SumOp());
}

extern "C" __global__ void reduce_rows_f32(const float* x, int outer, int r, int G, const float* center,
                                           float* out, double* out_double, double scale, int op) {
    with_op(op, [&](auto rule) { rows<decltype(rule)>(x, outer, r, G, center, out, out_double, scale); });
}

extern "C" __global__ void reduce_rows_f64(const double* x, int outer, int r, int G, const float* center,
                                           float* out, double* out_double, double scale, int op) {
    with_op(op, [&](auto rule) { rows<decltype(rule)>(x, outer, r, G, center, out, out_double, scale); });
}

extern "C" __global__ void reduce_columns_f32(const float* x, int outer, int r, int inner, int W, int seg, const float* center,
                                              float* out, double* out_double, double scale, int op) {
    with_op(op, [&](auto rule) { columns<decltype(rule)>(x, outer, r, inner, W, seg, center, out, out_double, scale); });
}

extern "C" __global__ void reduce_columns_f64(const double* x, int outer, int r, int inner, int W, int seg, const float* center,
                                              float* out, double* out_double, double scale, int op) {
    with_op(op, [&](auto rule) { columns<decltype(rule)>(x, outer, r, inner, W, seg, center, out, out_double, scale); });
}

// ------------------------------------------------------------------ argmax

// The best (value, index) seen so far; index -1 while every element seen was NaN. The CPU scans
// a row with `>` from element 0, so it returns 0 when element 0 is NaN and otherwise the first
// index of the largest non-NaN value: NaNs are skipped here and element 0 checked at the end.
struct Best {
    float v;
    int i;
};

__device__ __forceinline__ Best better(Best a, Best b) {
    if (b.i < 0) return a;
    if (a.i < 0) return b;
    return b.v > a.v || (b.v == a.v && b.i < a.i) ? b : a;
}

// out[row] = argmax of row (of r >= 1 floats); groups of G lanes per row, as in rows().
extern "C" __global__ void argmax_rows(long long* out, const float* x, int outer, int r, int G) {
    int lane = threadIdx.x & 31, group = lane / G, glane = lane - group * G, per_warp = 32 / G;
    int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, warps = (gridDim.x * blockDim.x) >> 5;
    for (int r0 = warp * per_warp; r0 < outer; r0 += warps * per_warp) {
        int row = r0 + group;
        Best best = {0.f, -1};
        if (row < outer) {
            for (int i = glane; i < r; i += G) {
                float v = x[row * r + i];
                if (v == v && (best.i < 0 || v > best.v)) best = {v, i};
            }
        }
        for (int o = G / 2; o > 0; o >>= 1) {
            Best other = {__shfl_xor_sync(0xffffffffu, best.v, o), __shfl_xor_sync(0xffffffffu, best.i, o)};
            best = better(best, other);
        }
        if (row < outer && glane == 0) {
            float first = x[row * r];
            out[row] = first != first || best.i < 0 ? 0 : best.i;
        }
    }
}

// partials[b] = the sum of the squares of block b's share of its tensor (TensorList ptr[0];
// tensor i's blocks are [start[i], start[i+1])), accumulated in double; CudaReduce.sumOfSquares
// then sums the partials. Fixed shares and orders: the same bits every run.
extern "C" __global__ void __launch_bounds__(256) sum_squares_partials(const __grid_constant__ TensorList t, float* partials) {
    __shared__ double scratch[32];
    int i = list_tensor(t);
    const float* x = (const float*) t.ptr[0][i];
    double acc = 0.0;
    for_each_packed<4, 1>(t.n[i], true, blockIdx.x - t.start[i], t.start[i + 1] - t.start[i], [&](int e, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> p = load_pack<W>(x + e);
#pragma unroll
        for (int k = 0; k < W; k++) acc += (double) p.v[k] * p.v[k];
    });
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) scratch[warp] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        double sum = 0.0;
        for (int w = 0; w < (int) (blockDim.x >> 5); w++) sum += scratch[w];
        partials[blockIdx.x] = (float) sum;
    }
}
