// 2-D convolution, NCHW input x [B, C, H, W], OIHW weight w [O, C, KH, KW], as implicit GEMMs on
// the tile machinery of gemm.cuh: the image patches are gathered straight from the tensors while
// the GEMM stages its K-slices, never built in memory. With P = OH·OW and KK = KH·KW:
//
//   forward          y [O, (b, p)]        = w [O, (c, i, j)]   · patches [(c, i, j), (b, p)]  (+ bias[o])
//   input gradient   dx [C, (b, iy, ix)]  = wᵀ [C, (o, i, j)]  · dy gathered [(o, i, j), (b, iy, ix)]
//   weight gradient  dw [O, (c, i, j)]    = dy [O, (b, p)]     · patchesᵀ [(b, p), (c, i, j)]
//
// where output pixel (oy, ox) reads input (oy·SH - PH + i, ox·SW - PW + j), zero in the padding.
// CPU counterpart: backend/cpu/CpuConv.java (same products; it gathers patches per image).
#include "gemm.cuh"

using namespace gemm;

// Forward B (rows n = (b, oy, ox) over the batch, k = (c, i, j)): x[b, c, oy SH - PH + i, ox SW - PW + j].
// A warp takes 32 consecutive pixels: consecutive input columns when SW = 1.
struct Patches {
    static constexpr bool K_MAJOR = false;
    const float* x;
    ConvGeom g;
    FastDiv by_p, by_ow, by_kk, by_kw;

    __device__ Patches(const float* x, const ConvGeom& g)
        : x(x), g(g), by_p(g.oh * g.ow), by_ow(g.ow), by_kk(g.kh * g.kw), by_kw(g.kw) {}

    struct Row {
        int base;      // offset of image b in x
        int iy0, ix0;  // input position of the window's top-left tap
        bool valid;
    };
    __device__ Row row(int n) const {
        int b = by_p.div(n), p = n - b * g.oh * g.ow, oy = by_ow.div(p), ox = p - oy * g.ow;
        return {b * g.c * g.h * g.w, oy * g.sh - g.ph, ox * g.sw - g.pw, b < g.batch};
    }
    template <int N>
    __device__ void load(const Row& r, int k, float (&v)[N]) const {
        int kk = g.kh * g.kw, c = by_kk.div(k), tap = k - c * kk, i = by_kw.div(tap), j = tap - i * g.kw;
#pragma unroll
        for (int e = 0; e < N; e++) {
            int iy = r.iy0 + i, ix = r.ix0 + j;
            bool in = r.valid && c < g.c && (unsigned) iy < (unsigned) g.h && (unsigned) ix < (unsigned) g.w;
            v[e] = in ? x[r.base + (c * g.h + iy) * g.w + ix] : 0.f;
            if (++j == g.kw) {  // next tap: (c, i, j) in row-major order
                j = 0;
                if (++i == g.kh) {
                    i = 0;
                    c++;
                }
            }
        }
    }
};

// Input-gradient A (rows m = c, k = (o, i, j)): w[o, c, i, j] = w[(o C + c) KK + (i KW + j)].
struct WeightsT {
    static constexpr bool K_MAJOR = true;
    const float* w;
    ConvGeom g;
    FastDiv by_kk;

    __device__ WeightsT(const float* w, const ConvGeom& g) : w(w), g(g), by_kk(g.kh * g.kw) {}

    struct Row {
        int base;  // offset of w[0, c]
        bool valid;
    };
    __device__ Row row(int c) const {
        return {c * g.kh * g.kw, c < g.c};
    }
    template <int N>
    __device__ void load(const Row& r, int k, float (&v)[N]) const {
        int kk = g.kh * g.kw, o = by_kk.div(k), tap = k - o * kk;
#pragma unroll
        for (int e = 0; e < N; e++) {
            v[e] = r.valid && o < g.o ? w[r.base + o * g.c * kk + tap] : 0.f;
            if (++tap == kk) {
                tap = 0;
                o++;
            }
        }
    }
};

// Input-gradient B (rows n = (b, iy, ix) over the batch, k = (o, i, j)): dy[b, o, oy, ox] where
// oy SH - PH + i = iy and ox SW - PW + j = ix, i.e. oy = (iy + PH - i) / SH when that divides
// exactly and lands inside the output (zero otherwise: taps that no output pixel used).
struct GradPatches {
    static constexpr bool K_MAJOR = false;
    const float* dy;
    ConvGeom g;
    FastDiv by_hw, by_w, by_kk, by_kw, by_sh, by_sw;

    __device__ GradPatches(const float* dy, const ConvGeom& g)
        : dy(dy), g(g), by_hw(g.h * g.w), by_w(g.w), by_kk(g.kh * g.kw), by_kw(g.kw), by_sh(g.sh), by_sw(g.sw) {}

    struct Row {
        int base;      // offset of dy[b]
        int ty0, tx0;  // iy + PH, ix + PW
        bool valid;
    };
    __device__ Row row(int n) const {
        int b = by_hw.div(n), q = n - b * g.h * g.w, iy = by_w.div(q), ix = q - iy * g.w;
        return {b * g.o * g.oh * g.ow, iy + g.ph, ix + g.pw, b < g.batch};
    }
    template <int N>
    __device__ void load(const Row& r, int k, float (&v)[N]) const {
        int kk = g.kh * g.kw, o = by_kk.div(k), tap = k - o * kk, i = by_kw.div(tap), j = tap - i * g.kw;
#pragma unroll
        for (int e = 0; e < N; e++) {
            int ty = r.ty0 - i, tx = r.tx0 - j;
            float val = 0.f;
            if (r.valid && o < g.o && ty >= 0 && tx >= 0) {
                int oy = by_sh.div(ty), ox = by_sw.div(tx);
                if (oy * g.sh == ty && ox * g.sw == tx && oy < g.oh && ox < g.ow) val = dy[r.base + (o * g.oh + oy) * g.ow + ox];
            }
            v[e] = val;
            if (++j == g.kw) {
                j = 0;
                if (++i == g.kh) {
                    i = 0;
                    o++;
                }
            }
        }
    }
};

// Weight-gradient A (rows m = o, k = (b, p)): dy[b, o, p].
struct GradRows {
    static constexpr bool K_MAJOR = true;
    const float* dy;
    ConvGeom g;
    FastDiv by_p;

    __device__ GradRows(const float* dy, const ConvGeom& g) : dy(dy), g(g), by_p(g.oh * g.ow) {}

    struct Row {
        int base;  // offset of dy[0, o]
        bool valid;
    };
    __device__ Row row(int o) const {
        return {o * g.oh * g.ow, o < g.o};
    }
    template <int N>
    __device__ void load(const Row& r, int k, float (&v)[N]) const {
        int np = g.oh * g.ow, b = by_p.div(k), p = k - b * np;
#pragma unroll
        for (int e = 0; e < N; e++) {
            v[e] = r.valid && b < g.batch ? dy[r.base + b * g.o * np + p] : 0.f;
            if (++p == np) {
                p = 0;
                b++;
            }
        }
    }
};

// Weight-gradient B (rows n = (c, i, j), k = (b, oy, ox)): x[b, c, oy SH - PH + i, ox SW - PW + j].
struct PatchesT {
    static constexpr bool K_MAJOR = true;
    const float* x;
    ConvGeom g;
    FastDiv by_p, by_ow, by_kk, by_kw;

    __device__ PatchesT(const float* x, const ConvGeom& g)
        : x(x), g(g), by_p(g.oh * g.ow), by_ow(g.ow), by_kk(g.kh * g.kw), by_kw(g.kw) {}

    struct Row {
        int base;    // offset of x[0, c]
        int di, dj;  // i - PH, j - PW
        bool valid;
    };
    __device__ Row row(int n) const {
        int c = by_kk.div(n), tap = n - c * g.kh * g.kw, i = by_kw.div(tap), j = tap - i * g.kw;
        return {c * g.h * g.w, i - g.ph, j - g.pw, c < g.c};
    }
    template <int N>
    __device__ void load(const Row& r, int k, float (&v)[N]) const {
        int b = by_p.div(k), p = k - b * g.oh * g.ow, oy = by_ow.div(p), ox = p - oy * g.ow;
#pragma unroll
        for (int e = 0; e < N; e++) {
            int iy = oy * g.sh + r.di, ix = ox * g.sw + r.dj;
            bool in = r.valid && b < g.batch && (unsigned) iy < (unsigned) g.h && (unsigned) ix < (unsigned) g.w;
            v[e] = in ? x[b * g.c * g.h * g.w + r.base + iy * g.w + ix] : 0.f;
            if (++ox == g.ow) {  // next output pixel: (b, oy, ox) in row-major order
                ox = 0;
                if (++oy == g.oh) {
                    oy = 0;
                    b++;
                }
            }
        }
    }
};

// An image-major output: C[m, (b, q)] -> out[b, m, q] (+ bias[m]) for planes of `plane` pixels.
struct ImageOut {
    float* out;
    const float* bias;  // [M] or null
    int M, N, plane;
    FastDiv by_plane;

    __device__ ImageOut(float* out, const float* bias, int M, int N, int plane)
        : out(out), bias(bias), M(M), N(N), plane(plane), by_plane(plane) {}

    __device__ __forceinline__ void operator()(int m, int n, float v) const {
        if (m < M && n < N) {
            int b = by_plane.div(n);
            out[(b * M + m) * plane + n - b * plane] = bias ? v + bias[m] : v;
        }
    }
};

// Grids: x = output tiles (tile_origin over the M x N below), 256 threads, static shared memory;
// z = K split, as in matmul.cu: split z sums k in [z k_split, (z+1) k_split) into its own copy of
// the output at z split_stride (the caller adds them up, and the bias, with splitk_reduce), so a
// convolution with few output tiles (large channels on a small image) still fills the GPU.
template <int P>
__device__ void conv_forward(float* y, const float* x, const float* w, const float* bias, const ConvGeom& g, int k_split, long long split_stride) {
    int M = g.o, N = g.batch * g.oh * g.ow, K = g.c * g.kh * g.kw, m0, n0;
    tile_origin(M, N, m0, n0);
    int k_begin = blockIdx.z * k_split;
    gemm_tile<P>(StridedSrc<true>{w, M, K, K, 1}, Patches(x, g), ImageOut(y + blockIdx.z * split_stride, bias, M, N, g.oh * g.ow), m0, n0,
                 k_begin, min(K, k_begin + k_split));
}

template <int P>
__device__ void conv_backward_input(float* dx, const float* dy, const float* w, const ConvGeom& g, int k_split, long long split_stride) {
    int M = g.c, N = g.batch * g.h * g.w, K = g.o * g.kh * g.kw, m0, n0;
    tile_origin(M, N, m0, n0);
    int k_begin = blockIdx.z * k_split;
    gemm_tile<P>(WeightsT(w, g), GradPatches(dy, g), ImageOut(dx + blockIdx.z * split_stride, nullptr, M, N, g.h * g.w), m0, n0, k_begin,
                 min(K, k_begin + k_split));
}

// z = K split (as in matmul.cu): split z sums k in [z k_split, (z+1) k_split) into out + z split_stride.
template <int P>
__device__ void conv_backward_weight(float* out, const float* dy, const float* x, const ConvGeom& g, int k_split, long long split_stride) {
    int M = g.o, N = g.c * g.kh * g.kw, K = g.batch * g.oh * g.ow, m0, n0;
    tile_origin(M, N, m0, n0);
    int k_begin = blockIdx.z * k_split;
    gemm_tile<P>(GradRows(dy, g), PatchesT(x, g), RowMajorOut{out + blockIdx.z * split_stride, nullptr, M, N}, m0, n0,
                 k_begin, min(K, k_begin + k_split));
}

#define CONV_KERNELS(prec, P)                                                                                    \
    extern "C" __global__ void __launch_bounds__(THREADS, MIN_BLOCKS<P>)                                                       \
        conv_forward_##prec(float* y, const float* x, const float* w, const float* bias, ConvGeom g, int k_split,  \
                            long long split_stride) {                                                            \
        conv_forward<P>(y, x, w, bias, g, k_split, split_stride);                                                \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(THREADS, MIN_BLOCKS<P>)                                                       \
        conv_backward_input_##prec(float* dx, const float* dy, const float* w, ConvGeom g, int k_split,           \
                                   long long split_stride) {                                                     \
        conv_backward_input<P>(dx, dy, w, g, k_split, split_stride);                                             \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(THREADS, MIN_BLOCKS<P>) conv_backward_weight_##prec(                          \
        float* out, const float* dy, const float* x, ConvGeom g, int k_split, long long split_stride) {         \
        conv_backward_weight<P>(out, dy, x, g, k_split, split_stride);                                           \
    }

CONV_KERNELS(f32, PREC_FLOAT32)
CONV_KERNELS(tf32, PREC_TF32)
CONV_KERNELS(bf16, PREC_BF16)
