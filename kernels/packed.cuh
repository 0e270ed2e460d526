// Vectorised grid-stride loops over float tensors, shared by the memory-bound kernels
// (elementwise.cu, swiglu.cu, adam.cu, rope.cu). A thread moves a run of 4 consecutive elements
// per step, as one 16-byte load or store wherever the address allows, so a warp moves 512
// contiguous bytes per instruction. Inputs may be strided or broadcast views (View below).
#pragma once
#include <type_traits>
#include "common.cuh"

template <int W>
using Width = std::integral_constant<int, W>;

template <int W>
__device__ __forceinline__ bool aligned_for(const float* p) {
    return (reinterpret_cast<uintptr_t>(p) & (4 * W - 1)) == 0;
}

// p[0..W-1]: one vector load when p is aligned for it, else W scalar loads.
template <int W>
__device__ __forceinline__ Pack<W> load_pack(const float* p) {
    if (aligned_for<W>(p)) return *reinterpret_cast<const Pack<W>*>(p);
    Pack<W> r;
#pragma unroll
    for (int k = 0; k < W; k++) r.v[k] = p[k];
    return r;
}

template <int W>
__device__ __forceinline__ void store_pack(float* p, const Pack<W>& x) {
    if (aligned_for<W>(p)) {
        *reinterpret_cast<Pack<W>*>(p) = x;
        return;
    }
#pragma unroll
    for (int k = 0; k < W; k++) p[k] = x.v[k];
}

// A float tensor as the wrappers pass it: storage base + Layout (CudaTensors.base and layout, or
// broadcastLayout), so element i in the row-major order of the (broadcast) shape is
// base[offset(i)]. A Layout of rank <= 1 is linear (offset + i·stride: contiguous for stride 1,
// one repeated element for stride 0) and needs no divisions.
struct View {
    const float* base;
    Layout l;
    int inner;          // extent of the innermost merged dim
    int inner_stride;   // its stride

    __device__ __forceinline__ View(const float* base_, const Layout& l_) : base(base_), l(l_), inner(1), inner_stride(0) {
        // Constant indices only: a dynamic index into the struct would move it to local memory.
#pragma unroll
        for (int d = 0; d < MAX_DIMS; d++) {
            if (d == l.rank - 1) {
                inner = l.shape[d];
                inner_stride = l.stride[d];
            }
        }
    }

    __device__ __forceinline__ int offset(int i) const {
        return l.rank <= 1 ? l.offset + i * inner_stride : layout_offset(l, i);
    }

    // Whether every run i..i+W-1 with i a multiple of W lies in one innermost row, so that its
    // elements are inner_stride apart (always true of a linear layout).
    __device__ __forceinline__ bool packs(int W) const {
        return l.rank <= 1 || inner % W == 0;
    }

    // Elements i..i+W-1; i a multiple of W, and packs(W).
    template <int W>
    __device__ __forceinline__ Pack<W> load(int i) const {
        int o = offset(i);
        if (inner_stride == 1) return load_pack<W>(base + o);
        Pack<W> r;
#pragma unroll
        for (int k = 0; k < W; k++) r.v[k] = base[o + k * inner_stride];
        return r;
    }
};

// Grid-stride loop over n elements in runs: body(i, Width<V>()) takes elements i..i+V-1 (i a
// multiple of V) while vec, then body(i, Width<S>()) takes the rest S at a time (n a multiple of
// S). Run by `blocks` blocks of which this is `block` (the whole grid, or a TensorList launch's
// share of it). Callers launch about n / V threads.
template <int V, int S, class Body>
__device__ __forceinline__ void for_each_packed(int n, bool vec, int block, int blocks, Body body) {
    int first = block * blockDim.x + threadIdx.x, stride = blocks * blockDim.x, done = 0;
    if (vec) {
        for (int q = first; q < n / V; q += stride) body(q * V, Width<V>());
        done = n / V * V;
    }
    for (int q = first; q < (n - done) / S; q += stride) body(done + q * S, Width<S>());
}

template <int V, int S, class Body>
__device__ __forceinline__ void for_each_packed(int n, bool vec, Body body) {
    for_each_packed<V, S>(n, vec, blockIdx.x, gridDim.x, body);
}

// Several float tensors in one launch, passed by value (a kernel's parameters may take 4 KiB; as
// __grid_constant__, indexed in place): tensor i has n[i] elements at up to four contiguous
// addresses ptr[0..3][i], and blocks [start[i], start[i+1]) of the grid (CudaTensors.forEachList).
constexpr int LIST_TENSORS = 64;
struct TensorList {
    unsigned long long ptr[4][LIST_TENSORS];
    int n[LIST_TENSORS];
    int start[LIST_TENSORS + 1];
};

#ifdef MAGVIT4J_EMULATOR
// The emulator checks, at each launch, that every address of the list lies in a live allocation
// with its n[i] floats (src/test/cuda-emulator/registry.h).
inline void emu_ranges(const TensorList& t, std::vector<emu::Range>& out) {
    for (int i = 0; i < LIST_TENSORS; i++)
        for (int k = 0; k < 4; k++)
            if (t.ptr[k][i]) out.push_back({(uintptr_t) t.ptr[k][i], (size_t) t.n[i] * 4, 4});
}
#endif

// The tensor this block works on.
__device__ __forceinline__ int list_tensor(const TensorList& t) {
    int i = 0;
    while (blockIdx.x >= (unsigned) t.start[i + 1]) i++;
    return i;
}

// The contiguous Layout of n elements.
__device__ __forceinline__ Layout contiguous(int n) {
    Layout l{};
    l.rank = 1;
    l.shape[0] = n;
    l.stride[0] = 1;
    return l;
}
