// Embedding lookup and its gradient (rows summed by index, deterministically), torch.gather
// along one dim and scatter-add (gather's gradient). CPU twin: backend/cpu/CpuIndex.java.
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

// ------------------------------------------------------------------ the embedding's gradient
// dw[v, :] = the sum of dy[r, :] over the rows r with idx[r] = v, added in ascending r from 0:
// CpuIndex's order, so the GPU gives the CPU's bits, the same on every run (float atomics would
// add in whatever order the rows arrive). A stable counting sort first groups the rows by index:
//   embedding_rank      count[v] = the rows with index v (integer atomics: any order gives the
//                       same count); rank[r] = the rows before r with r's index
//   embedding_starts    start[v] = count[0] + ... + count[v-1]
//   embedding_order     order[start[idx[r]] + rank[r]] = r: each bucket's rows in ascending order
//   embedding_backward  dw[v, j] = sum over k in [start[v], start[v] + count[v]) of dy[order[k], j],
//                       every element of dw written (0 for indices that never occur)

constexpr int RANK_TILE = 1024;

// idx[i] as an int in [0, bound), or -1.
__device__ __forceinline__ int index_or_minus1(const void* idx, int is64, int i, int bound) {
    long long v = is64 ? ((const long long*) idx)[i] : ((const int*) idx)[i];
    return v < 0 || v >= bound ? -1 : (int) v;
}

// Thread r of a block compares its index with those of rows [0, r), a shared-memory tile of
// RANK_TILE rows at a time; the tile loop's bounds are the block's, so all its threads reach the
// barriers. rows^2 / 2 comparisons: 2·10^9 for a batch of 256 sequences of 256 tokens, ~1 ms.
extern "C" __global__ void embedding_rank(const void* idx, int is64, int bound, int rows, int* count, int* rank, int* bad) {
    __shared__ int tile[RANK_TILE];
    for (int r0 = blockIdx.x * blockDim.x; r0 < rows; r0 += gridDim.x * blockDim.x) {
        int r = r0 + threadIdx.x;
        int v = r < rows ? checked_index(idx, is64, r, bound, bad) : -1;
        int before = 0;
        int end = min(rows, r0 + (int) blockDim.x);  // the block's rows compare with rows < end
        for (int q0 = 0; q0 < end; q0 += RANK_TILE) {
            int n = min(RANK_TILE, end - q0);
            __syncthreads();
            for (int k = threadIdx.x; k < n; k += blockDim.x) tile[k] = index_or_minus1(idx, is64, q0 + k, bound);
            __syncthreads();
            int stop = min(n, r - q0);
            for (int k = 0; k < stop; k++) before += tile[k] == v;
        }
        if (r < rows) {
            rank[r] = v < 0 ? -1 : before;
            if (v >= 0) atomicAdd(count + v, 1);
        }
    }
}

// Exclusive prefix sum of count[0..n) into start, by one block of 1024 threads: each thread
// sums a contiguous chunk, the block scans the 1024 chunk sums, each thread writes its chunk.
extern "C" __global__ void embedding_starts(const int* count, int n, int* start) {
    __shared__ int sums[1024];
    int chunk = (n + blockDim.x - 1) / blockDim.x, begin = threadIdx.x * chunk, end = min(n, begin + chunk);
    int total = 0;
    for (int i = begin; i < end; i++) total += count[i];
    sums[threadIdx.x] = total;
    __syncthreads();
    for (int o = 1; o < blockDim.x; o <<= 1) {  // Hillis-Steele inclusive scan
        int add = threadIdx.x >= o ? sums[threadIdx.x - o] : 0;
        __syncthreads();
        sums[threadIdx.x] += add;
        __syncthreads();
    }
    int run = sums[threadIdx.x] - total;
    for (int i = begin; i < end; i++) {
        start[i] = run;
        run += count[i];
    }
}

extern "C" __global__ void embedding_order(const void* idx, int is64, int bound, int rows, const int* start, const int* rank, int* order) {
    FOR_EACH(r, rows) {
        int v = index_or_minus1(idx, is64, r, bound);
        if (v >= 0) order[start[v] + rank[r]] = r;
    }
}

extern "C" __global__ void embedding_backward(const float* dy, int d, const int* order, const int* start, const int* count, int n, float* dw) {
    FOR_EACH(e, n * d) {
        int v = e / d, j = e - v * d, k0 = start[v], k1 = k0 + count[v];
        float s = 0.f;
        for (int k = k0; k < k1; k++) s += dy[(size_t) order[k] * d + j];
        dw[e] = s;
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
