// Batched matrix multiply with broadcast batch dims: c[i] = a[i] · b[i] (+ bias) for each matrix
// i of the batch, a [M, K] and b [K, N] read in place through row and column strides (so
// transposed views cost nothing), on the tile machinery of gemm.cuh. CPU counterpart:
// backend/cpu/CpuMatmul.java.
#include "gemm.cuh"

using namespace gemm;

// Grid: x = output tiles (tile_origin), y = matrix index - batch_base (the batch goes in chunks
// of at most 65535), z = K split. Split z sums k in [z k_split, (z+1) k_split) into
// c + z split_stride, without bias; splitk_reduce then adds the splits up.
// Batch matrix i starts at a + layout_offset(a_batch, i) (likewise b): the layouts are the
// operands' batch strides over the broadcast batch shape, 0 on broadcast dims.
template <int P, bool A_KMAJOR, bool B_KMAJOR>
__device__ void matmul(float* c, const float* a, const float* b, const float* bias, int M, int N, int K,
                       int a_rs, int a_cs, int b_rs, int b_cs, const Layout& a_batch, const Layout& b_batch,
                       int batch_base, int k_split, long long split_stride) {
    int i = batch_base + blockIdx.y;
    int m0, n0;
    tile_origin(M, N, m0, n0);
    StridedSrc<A_KMAJOR> sa{a + layout_offset(a_batch, i), M, K, a_rs, a_cs};
    // B as rows n of k: B[k, n] = b[k b_rs + n b_cs].
    StridedSrc<B_KMAJOR> sb{b + layout_offset(b_batch, i), N, K, b_cs, b_rs};
    RowMajorOut out{c + blockIdx.z * split_stride + (long long) i * M * N, bias, M, N};
    int k_begin = blockIdx.z * k_split;
    gemm_tile<P>(sa, sb, out, m0, n0, k_begin, min(K, k_begin + k_split));
}

// matmul_<precision>_<A major><B major>: precision f32 | tf32 | bf16; A "k" (row-major, k
// contiguous) or "m" (transposed view, m contiguous); B "n" (row-major) or "k" (transposed).
#define MATMUL_KERNEL(name, P, AK, BK)                                                                     \
    extern "C" __global__ void __launch_bounds__(THREADS, MIN_BLOCKS<P>) name(                                            \
        float* c, const float* a, const float* b, const float* bias, int M, int N, int K, int a_rs,        \
        int a_cs, int b_rs, int b_cs, Layout a_batch, Layout b_batch, int batch_base, int k_split,          \
        long long split_stride) {                                                                          \
        matmul<P, AK, BK>(c, a, b, bias, M, N, K, a_rs, a_cs, b_rs, b_cs, a_batch, b_batch, batch_base,    \
                          k_split, split_stride);                                                          \
    }
#define MATMUL_KERNELS(prec, P)                           \
    MATMUL_KERNEL(matmul_##prec##_kn, P, true, false)     \
    MATMUL_KERNEL(matmul_##prec##_kk, P, true, true)      \
    MATMUL_KERNEL(matmul_##prec##_mn, P, false, false)    \
    MATMUL_KERNEL(matmul_##prec##_mk, P, false, true)

MATMUL_KERNELS(f32, PREC_FLOAT32)
MATMUL_KERNELS(tf32, PREC_TF32)
MATMUL_KERNELS(bf16, PREC_BF16)

// Skinny products (a Linear's weight times a few rows, as in sampling): c[m, n] = Σ_k a[m, k]
// w[n, k] (+ bias[n]) for M <= ROWS rows, a row-major with rows lda apart, w row-major [N, K]
// with rows ldw apart (B = wᵀ). Memory-bound on w, which is read once: block j owns the SKINNY_N
// columns from SKINNY_N j, its 8 warps stride over k in float4s (where every row is 16-byte
// aligned and K a multiple of 4, else in floats) and meet in shared memory, summed in warp
// order; a's few rows come through L1. Inputs are rounded as the tensor cores round them (tf32,
// bf16), so every precision gives what its GEMM gives, up to the order of the sums. Built for
// ROWS = 4 (sampling one image: 16 accumulators, so more blocks fit a multiprocessor) and 16.
// CPU: CpuMatmul.
constexpr int SKINNY_N = 4, SKINNY_WARPS = 8;

template <int P>
__device__ __forceinline__ float skinny_round(float v) {
    if constexpr (P == PREC_TF32) return __uint_as_float(to_tf32(v) & ~0x1fffu);
    else if constexpr (P == PREC_BF16) return __uint_as_float(pack_bf16(v, 0.f) << 16);
    else return v;
}

template <int P, int ROWS>
__device__ void skinny(float* c, const float* a, int lda, const float* w, int ldw, const float* bias, int M, int N, int K) {
    __shared__ float partial[SKINNY_WARPS][ROWS][SKINNY_N];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, n0 = blockIdx.x * SKINNY_N;
    float acc[ROWS][SKINNY_N];
#pragma unroll
    for (int m = 0; m < ROWS; m++)
#pragma unroll
        for (int j = 0; j < SKINNY_N; j++) acc[m][j] = 0.f;
    bool vec = K % 4 == 0 && lda % 4 == 0 && ldw % 4 == 0 && ((uintptr_t) a & 15) == 0 && ((uintptr_t) w & 15) == 0;
    if (vec) {
        for (int k = (warp * 32 + lane) * 4; k < K; k += SKINNY_WARPS * 32 * 4) {
            float4 wv[SKINNY_N];
#pragma unroll
            for (int j = 0; j < SKINNY_N; j++) wv[j] = n0 + j < N ? *(const float4*) (w + (long long) (n0 + j) * ldw + k) : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
            for (int m = 0; m < ROWS; m++) {
                if (m < M) {
                    float4 av = *(const float4*) (a + (long long) m * lda + k);
#pragma unroll
                    for (int j = 0; j < SKINNY_N; j++) {
                        acc[m][j] = fmaf(skinny_round<P>(av.x), skinny_round<P>(wv[j].x), acc[m][j]);
                        acc[m][j] = fmaf(skinny_round<P>(av.y), skinny_round<P>(wv[j].y), acc[m][j]);
                        acc[m][j] = fmaf(skinny_round<P>(av.z), skinny_round<P>(wv[j].z), acc[m][j]);
                        acc[m][j] = fmaf(skinny_round<P>(av.w), skinny_round<P>(wv[j].w), acc[m][j]);
                    }
                }
            }
        }
    } else {
        for (int k = warp * 32 + lane; k < K; k += SKINNY_WARPS * 32) {
            float wv[SKINNY_N];
#pragma unroll
            for (int j = 0; j < SKINNY_N; j++) wv[j] = n0 + j < N ? skinny_round<P>(w[(long long) (n0 + j) * ldw + k]) : 0.f;
#pragma unroll
            for (int m = 0; m < ROWS; m++) {
                if (m < M) {
                    float av = skinny_round<P>(a[(long long) m * lda + k]);
#pragma unroll
                    for (int j = 0; j < SKINNY_N; j++) acc[m][j] = fmaf(av, wv[j], acc[m][j]);
                }
            }
        }
    }
#pragma unroll
    for (int m = 0; m < ROWS; m++) {
#pragma unroll
        for (int j = 0; j < SKINNY_N; j++) {
            float v = warp_sum(acc[m][j]);
            if (lane == 0) partial[warp][m][j] = v;
        }
    }
    __syncthreads();
    if (threadIdx.x < ROWS * SKINNY_N) {
        int m = threadIdx.x / SKINNY_N, j = threadIdx.x % SKINNY_N, n = n0 + j;
        if (m < M && n < N) {
            float s = 0.f;
            for (int q = 0; q < SKINNY_WARPS; q++) s += partial[q][m][j];
            c[(long long) m * N + n] = bias ? s + bias[n] : s;
        }
    }
}

// matmul_skinny<rows>_<precision>: rows 4 or 16, the most rows it takes.
#define SKINNY_KERNEL(prec, P, ROWS)                                                                             \
    extern "C" __global__ void __launch_bounds__(SKINNY_WARPS * 32) matmul_skinny##ROWS##_##prec(                  \
        float* c, const float* a, int lda, const float* w, int ldw, const float* bias, int M, int N, int K) {       \
        skinny<P, ROWS>(c, a, lda, w, ldw, bias, M, N, K);                                                        \
    }
#define SKINNY_KERNELS(prec, P) SKINNY_KERNEL(prec, P, 4) SKINNY_KERNEL(prec, P, 16)
SKINNY_KERNELS(f32, PREC_FLOAT32)
SKINNY_KERNELS(tf32, PREC_TF32)
SKINNY_KERNELS(bf16, PREC_BF16)

// out[i] = sum over z of part[z stride + i] (+ bias[i / bias_div % n]) for i < count: the K
// splits of a matmul (bias per column: bias_div 1) or of a convolution (bias per channel of
// NCHW: bias_div = the pixels of a plane), added in split order (deterministic).
extern "C" __global__ void splitk_reduce(float* out, const float* part, const float* bias, int splits,
                                         long long stride, int count, int n, int bias_div) {
    FOR_EACH(i, count) {
        float s = part[i];
        for (int z = 1; z < splits; z++) s += part[z * stride + i];
        out[i] = bias ? s + bias[i / bias_div % n] : s;
    }
}
