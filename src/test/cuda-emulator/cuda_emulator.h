// The CUDA C++ device language, for compiling kernels/*.cu with the host's C++ compiler (g++).
// build.sh force-includes this header before each kernel file; driver.cpp runs the result as the
// emulated GPU behind a libcuda.so.1 of its own (see README.md beside this file).
//
// How the device's notions map onto the host:
//   a CUDA thread      a fiber (its own stack); all threads of a block share one OS thread
//   __shared__         thread_local: one copy per OS thread, so per block being run
//   threadIdx          the running fiber's index; blockIdx, blockDim, gridDim: per OS thread
//   __syncthreads      a block barrier: the fiber yields until every live thread of the block
//                      arrives at the same __syncthreads (a different one is reported as an error)
//   warp shuffles,     warp collectives: each lane publishes its operands, the warp meets at a
//   ldmatrix, mma.sync a warp barrier, then each lane computes its own result from all 32
//   atomics            host atomics on the same addresses
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict
#define __grid_constant__
// thread_local at block scope implies static: one instance per OS thread, shared by the fibers
// of the block it runs. `extern __shared__ float smem[];` names driver.cpp's dynamic buffer.
#define __shared__ thread_local

struct uint3 { unsigned x, y, z; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

#include <vector>

namespace emu {

// A device range a kernel argument reaches. A struct argument that carries device addresses
// (such as kernels/packed.cuh's TensorList) declares, for the launch checks,
//   void emu_ranges(const T&, std::vector<emu::Range>&)
// listing them; pointer arguments are checked without one.
struct Range {
    uintptr_t p;
    size_t bytes;
    int align;
};

// One emulated thread, as driver.cpp's scheduler keeps it; the kernels see only `tid`.
struct Thread {
    uint3 tid;
};
extern thread_local Thread* current_thread;
extern thread_local uint3 block_idx, block_dim, grid_dim;

// Block barrier at a source location (reported when threads disagree on which barrier).
void syncthreads(const char* site);
// Warp collective at a source location: publishes `words` 64-bit words of this lane's, waits for
// every lane named in mask (lanes at another collective are reported), and returns the warp's
// table [32 lanes][8 words], valid until this lane's next collective.
const uint64_t (*warp_share(const char* site, unsigned mask, const uint64_t* mine, int words))[8];
// This thread's lane.
int lane();
// Whether [p, p + bytes) lies in the block's shared memory.
bool in_shared(const void* p, size_t bytes);
// Ends the launch with an error naming this thread.
[[noreturn]] void fail(const char* what);

#define EMU_STRING2(x) #x
#define EMU_STRING(x) EMU_STRING2(x)
#define EMU_SITE __FILE__ ":" EMU_STRING(__LINE__)

template <class T>
inline T shfl_xor(const char* site, unsigned mask, T v, int lane_mask, int width = 32) {
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 64 bits");
    uint64_t w = 0;
    memcpy(&w, &v, sizeof(T));
    const uint64_t (*all)[8] = warp_share(site, mask, &w, 1);
    // shfl.sync.bfly: source lane ^ laneMask (low 5 bits); a source past the end of the caller's
    // segment of `width` lanes gives the caller's own value (one in an earlier segment is read).
    int l = lane(), src = l ^ (lane_mask & 31);
    if (src > (l | (width - 1))) src = l;
    T r;
    memcpy(&r, &all[src][0], sizeof(T));
    return r;
}

inline unsigned float_bits(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    return u;
}

inline float bits_float(unsigned u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// ------------------------------------------------------------------ the PTX of kernels/gemm.cuh
// (PTX ISA 9.7.14: cvt, ldmatrix and the mma fragment layouts of m16n8k8.tf32 and m16n8k16.bf16)

// cvt.rna.tf32.f32: keep 10 mantissa bits, rounding to nearest with ties away from zero.
inline unsigned cvt_rna_tf32(float v) {
    unsigned u = float_bits(v);
    if ((u & 0x7f800000u) == 0x7f800000u) return u;  // Inf and NaN pass through
    return (u + 0x1000u) & ~0x1fffu;
}

// bf16 of a float, round to nearest even (NaN stays a NaN).
inline unsigned bf16_bits(float v) {
    unsigned u = float_bits(v);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

// cvt.rn.bf16x2.f32 d, a, b: a to the upper half of d, b to the lower half.
inline unsigned cvt_rn_bf16x2(float a, float b) {
    return (bf16_bits(a) << 16) | bf16_bits(b);
}

// ldmatrix.sync.aligned.m8n8.x4.shared.b16: lanes 8q..8q+7 give the addresses of the 8 rows
// (16 bytes each, 16-byte aligned, in shared memory) of matrix q; lane l receives, for each q,
// 32-bit word l % 4 of row l / 4. Each lane reads its row at the instruction and publishes it.
inline void ldmatrix_x4(unsigned (&r)[4], const void* row) {
    if (((uintptr_t) row & 15) != 0) fail("ldmatrix: a row address is not 16-byte aligned");
    if (!in_shared(row, 16)) fail("ldmatrix: a row address is not in shared memory");
    uint64_t mine[2];
    memcpy(mine, row, 16);
    const uint64_t (*all)[8] = warp_share("ldmatrix.x4", 0xffffffffu, mine, 2);
    int l = lane();
    for (int q = 0; q < 4; q++) {
        const unsigned char* p = (const unsigned char*) all[8 * q + l / 4];
        memcpy(&r[q], p + 4 * (l % 4), 4);
    }
}

// A lane's fragment registers in the warp table: words 0-3 the A registers, 4-5 the B registers.
inline unsigned reg(const uint64_t (*all)[8], int lane, int r) {
    return (unsigned) all[lane][r];
}

inline float bf16_value(unsigned reg, int half) {
    return bits_float(half ? reg & 0xffff0000u : reg << 16);
}

// d += a·b for 16x8 accumulators of which this lane holds c0..c3 = (g, 2t), (g, 2t+1),
// (g+8, 2t), (g+8, 2t+1), with g = lane / 4, t = lane % 4; A(m, k) and B(k, n) are read from
// the lanes that hold them. Products of tf32 or bf16 values are exact in float; the sum is
// taken in k order.
template <int K, class A, class B>
inline void mma_accumulate(const char* site, float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1, A a_at, B b_at) {
    uint64_t mine[6] = {a[0], a[1], a[2], a[3], b0, b1};
    const uint64_t (*all)[8] = warp_share(site, 0xffffffffu, mine, 6);
    int g = lane() / 4, t = lane() % 4;
    for (int c = 0; c < 4; c++) {
        int m = g + 8 * (c / 2), n = 2 * t + (c % 2);
        float acc = d[c];
        for (int k = 0; k < K; k++) acc += a_at(all, m, k) * b_at(all, k, n);
        d[c] = acc;
    }
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32. A: a0 (g, t), a1 (g+8, t), a2 (g, t+4),
// a3 (g+8, t+4). B: b0 (k t, n g), b1 (k t+4, n g).
inline void mma_m16n8k8_tf32(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    mma_accumulate<8>(
            "mma.m16n8k8.tf32", d, a, b0, b1,
            [](const uint64_t (*all)[8], int m, int k) { return bits_float(reg(all, 4 * (m % 8) + k % 4, (m / 8) + 2 * (k / 4)) & ~0x1fffu); },
            [](const uint64_t (*all)[8], int k, int n) { return bits_float(reg(all, 4 * n + k % 4, 4 + k / 4) & ~0x1fffu); });
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32. A register i holds the pair (row,
// 2t..2t+1) with row g for i = 0, 2 and g+8 for i = 1, 3, plus 8 columns for i = 2, 3; B register
// j holds (k 2t..2t+1, n g), plus 8 rows for j = 1. The lower k sits in the lower half.
inline void mma_m16n8k16_bf16(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    mma_accumulate<16>(
            "mma.m16n8k16.bf16", d, a, b0, b1,
            [](const uint64_t (*all)[8], int m, int k) { return bf16_value(reg(all, 4 * (m % 8) + (k % 8) / 2, (m / 8) + 2 * (k / 8)), k % 2); },
            [](const uint64_t (*all)[8], int k, int n) { return bf16_value(reg(all, 4 * n + (k % 8) / 2, 4 + k / 8), k % 2); });
}

// wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 (bf16) or .m64n128k8.f32.tf32.tf32, both
// operands K-major in shared memory, accumulating into d: issued now, run by the wgmma_wait that
// ends its commit group (driver.cpp; until then d reads NaN). The descriptors' start addresses
// count from the tiles a and b.
void wgmma_m64n128(float* d, uint64_t da, uint64_t db, const unsigned char* a, const unsigned char* b, bool bf16);
// wgmma.commit_group.sync.aligned
void wgmma_commit();
// wgmma.wait_group.sync.aligned n
void wgmma_wait(int n);

}  // namespace emu

// ------------------------------------------------------------------ built-in variables

#define threadIdx (emu::current_thread->tid)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

#define __syncthreads() emu::syncthreads(EMU_SITE)

namespace emu {
inline void syncwarp(const char* site, unsigned mask = 0xffffffffu) {
    warp_share(site, mask, nullptr, 0);
}

}  // namespace emu

#define __syncwarp(...) emu::syncwarp(EMU_SITE __VA_OPT__(,) __VA_ARGS__)
#define __shfl_xor_sync(...) emu::shfl_xor(EMU_SITE, __VA_ARGS__)

// ------------------------------------------------------------------ intrinsics and math

inline unsigned __float_as_uint(float f) { return emu::float_bits(f); }
inline float __uint_as_float(unsigned u) { return emu::bits_float(u); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned) x); }
// The _rn operations are single roundings that nvcc never fuses into an FMA, while it fuses
// other a*b + c (build.sh turns the same contraction on): the empty asm makes each operand and
// result a value the compiler cannot see through.
inline float emu_opaque(float v) {
    __asm__("" : "+x"(v));
    return v;
}
inline float __fadd_rn(float a, float b) { return emu_opaque(emu_opaque(a) + emu_opaque(b)); }
inline float __fsub_rn(float a, float b) { return emu_opaque(emu_opaque(a) - emu_opaque(b)); }
inline float __fmul_rn(float a, float b) { return emu_opaque(emu_opaque(a) * emu_opaque(b)); }

// CUDA's min and max are overloaded for every arithmetic pair; the usual conversions give the
// type. For floating point they are fminf / fmaxf (a NaN operand gives the other one).
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
template <class A, class B>
inline typename std::common_type<A, B>::type min(A a, B b) {
    typedef typename std::common_type<A, B>::type T;
    return (T) b < (T) a ? (T) b : (T) a;
}
template <class A, class B>
inline typename std::common_type<A, B>::type max(A a, B b) {
    typedef typename std::common_type<A, B>::type T;
    return (T) a < (T) b ? (T) b : (T) a;
}

// ------------------------------------------------------------------ atomics

inline float atomicAdd(float* p, float v) {
    unsigned* u = (unsigned*) p;
    unsigned old = __atomic_load_n(u, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(u, &old, emu::float_bits(emu::bits_float(old) + v), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return emu::bits_float(old);
}

inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

inline int atomicMin(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}

inline int atomicMax(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v > old && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
