// Shared pieces of the kernels: the strided-tensor layout passed by value, dtype codes, and
// warp/block reductions. Every kernel is extern "C" so the Java side finds it by its plain name.
#pragma once
#include <stdint.h>

#define MAX_DIMS 8

// A strided view, as CudaTensors.layout() packs it: int rank, int offset (elements), then
// shape[MAX_DIMS] and stride[MAX_DIMS] (elements; 0 for broadcast dims). Unused dims are 1 / 0.
struct Layout {
    int rank;
    int offset;
    int shape[MAX_DIMS];
    int stride[MAX_DIMS];
};

// Storage offset of the element with row-major linear index i. Tensors hold fewer than 2^31
// elements (Java int sizes), so 32-bit arithmetic suffices and divides fast.
__device__ __forceinline__ int layout_offset(const Layout& l, int i) {
    int off = l.offset;
#pragma unroll
    for (int d = MAX_DIMS - 1; d >= 0; d--) {
        if (d < l.rank) {
            int s = l.shape[d];
            int q = i / s;
            off += (i - q * s) * l.stride[d];
            i = q;
        }
    }
    return off;
}

// The shapes of one 2-D convolution (conv.cu, winograd.cu): ConvGeometry, as CudaConv.struct packs it:
// input [batch, c, h, w], weight [o, c, kh, kw], stride, padding, output [batch, o, oh, ow].
struct ConvGeom {
    int batch, c, h, w, o, kh, kw, sh, sw, ph, pw, oh, ow;
};

// DType codes, in the order of dev.magvit4j.tensor.DType.
enum DTypeCode { DT_FLOAT32 = 0, DT_INT64 = 1, DT_INT32 = 2, DT_BOOL = 3 };

__device__ __forceinline__ double load_as_double(const void* p, int dtype, int i) {
    switch (dtype) {
        case DT_FLOAT32: return ((const float*) p)[i];
        case DT_INT64: return (double) ((const long long*) p)[i];
        case DT_INT32: return ((const int*) p)[i];
        default: return ((const unsigned char*) p)[i];
    }
}

// v truncated toward zero, NaN to 0 and values past the type's range to its end: Java's (long)
// and (int) casts, which the CPU backend's conversions are (in C such a cast is undefined).
template <class T>
__device__ __forceinline__ T saturating_cast(double v, T lo, T hi) {
    return v != v ? 0 : v <= (double) lo ? lo : v >= (double) hi ? hi : (T) v;
}

__device__ __forceinline__ void store_from_double(void* p, int dtype, int i, double v) {
    switch (dtype) {
        case DT_FLOAT32: ((float*) p)[i] = (float) v; break;
        case DT_INT64: ((long long*) p)[i] = saturating_cast<long long>(v, -9223372036854775807LL - 1, 9223372036854775807LL); break;
        case DT_INT32: ((int*) p)[i] = saturating_cast<int>(v, -2147483647 - 1, 2147483647); break;
        default: ((unsigned char*) p)[i] = v != 0 ? 1 : 0; break;
    }
}

// V consecutive floats moved as one access: V = 4 is a 16-byte vector load or store, V = 2 an
// 8-byte one, V = 1 a scalar one.
template <int V>
struct alignas(4 * V) Pack {
    float v[V];
};

// p[i .. i+V-1] as one access: the caller guarantees p + i is aligned to 4·V bytes.
template <int V>
__device__ __forceinline__ Pack<V> load(const float* p, int i) {
    return *reinterpret_cast<const Pack<V>*>(p + i);
}

template <int V>
__device__ __forceinline__ void store(float* p, int i, const Pack<V>& v) {
    *reinterpret_cast<Pack<V>*>(p + i) = v;
}

// A grid-stride loop over n < 2^31 elements.
#define FOR_EACH(i, n) \
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += gridDim.x * blockDim.x)

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. scratch: 32 floats of shared memory, free again on return.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(v);
}
