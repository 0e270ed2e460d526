// Embedding lookup and its gradient (rows summed by index), torch.gather along one dim and
// scatter-add (gather's gradient). CPU twin: backend/cpu/CpuIndex.java.
//
// Index tensors are contiguous int64 or int32 (is64). An index outside [0, bound) is never
// dereferenced: its row-major position goes to *bad with atomicMin (so the first bad position
// wins, the one CpuIndex names), and the Java side reads *bad after the kernel and throws.
#include "common.cuh"

// idx[i] when it lies in [0, bound), else -1 after recording position i in *bad.
__device__ __forceinline__ int checked_index(const void* idx, int is64, int i, int bound, int* bad) {
    long long v = is64 ? ((const long long*) idx)[i] : ((const int*) idx)[i];
    if (v < 0 || v >= bound) {
        atomicMin(bad, i);
        return -1;
    }
    return (int) v;
}

// out[r, j] = weight[idx[r], j] over rows of d floats (0 where the index is bad: the call throws).
extern "C" __global__ void embedding(const float* weight, int d, const void* idx, int is64, int bound, int total, float* out, int* bad) {
    FOR_EACH(e, total) {
        int r = e / d, row = checked_index(idx, is64, r, bound, bad);
        out[e] = row < 0 ? 0.f : weight[(size_t) row * d + (e - r * d)];
    }
}

// dw[idx[r], j] += dy[r, j]; dw zeroed by the caller. Repeated indices meet in atomicAdd, so the
// order of the additions (and the last bits of a sum) may vary from run to run.
extern "C" __global__ void embedding_backward(const float* dy, int d, const void* idx, int is64, int bound, int total, float* dw, int* bad) {
    FOR_EACH(e, total) {
        int r = e / d, row = checked_index(idx, is64, r, bound, bad);
        if (row >= 0) atomicAdd(dw + (size_t) row * d + (e - r * d), dy[e]);
    }
}

// The storage offset, in a tensor with strides l.stride and offset l.offset, of the element
// whose coordinates are those of idx's element i (row-major over idx's shape l.shape, l.rank
// dims, not merged) with coordinate dim replaced by target. Unrolled over MAX_DIMS so the
// by-value struct stays in registers.
__device__ __forceinline__ int gather_offset(const Layout& l, int dim, int i, int target) {
    int off = l.offset;
#pragma unroll
    for (int d = MAX_DIMS - 1; d >= 0; d--) {
        if (d < l.rank) {
            int s = l.shape[d], q = i / s;
            off += (d == dim ? target : i - q * s) * l.stride[d];
            i = q;
        }
    }
    return off;
}

// out[i] = x[coordinates of idx element i, with idx[i] along dim] (torch.gather).
extern "C" __global__ void gather(const float* x, Layout l, int dim, const void* idx, int is64, int bound, int total, float* out, int* bad) {
    FOR_EACH(i, total) {
        int t = checked_index(idx, is64, i, bound, bad);
        out[i] = t < 0 ? 0.f : x[gather_offset(l, dim, i, t)];
    }
}

// out[coordinates of idx element i, with idx[i] along dim] += src[i]; out zeroed by the caller
// (atomicAdd: colliding indices add in a varying order).
extern "C" __global__ void scatter_add(const float* src, Layout l, int dim, const void* idx, int is64, int bound, int total, float* out, int* bad) {
    FOR_EACH(i, total) {
        int t = checked_index(idx, is64, i, bound, bad);
        if (t >= 0) atomicAdd(out + gather_offset(l, dim, i, t), src[i]);
    }
}
