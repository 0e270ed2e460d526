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

// out[i] = sum over z of part[z stride + i] (+ bias[i % n]) for i < count: the K splits of a
// matmul or of a convolution's weight gradient, added in split order (deterministic).
extern "C" __global__ void splitk_reduce(float* out, const float* part, const float* bias, int splits,
                                         long long stride, int count, int n) {
    FOR_EACH(i, count) {
        float s = part[i];
        for (int z = 1; z < splits; z++) s += part[z * stride + i];
        out[i] = bias ? s + bias[i % n] : s;
    }
}
