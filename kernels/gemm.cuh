// The GEMM tile machinery shared by matmul.cu and conv.cu: one block of 256 threads computes a
// 128 x 128 tile of C[M, N] = A[M, K] · B[K, N] over a range of K, in one of three precisions:
//
//   FLOAT32  classic register-blocked SGEMM on the CUDA cores (8 x 8 outputs per thread)
//   TF32     tensor cores, mma.sync.m16n8k8 with tf32 inputs, float32 accumulation
//   BF16     tensor cores, mma.sync.m16n8k16 with bf16 inputs, float32 accumulation
//
// Built for sm_90a (Hopper: build.sh makes a second PTX of each file that includes this one),
// TF32 and BF16 use the warpgroup instructions instead: wgmma.mma_async m64n128k8 / m64n128k16,
// both operands read by the tensor cores straight from shared memory, asynchronously, so the
// next slice is stored while the current one is multiplied.
//
// Operands are read through "sources" (below: StridedSrc here, the implicit-im2col ones in
// conv.cu) that return runs of consecutive k of one row of A (a row m) or of Bᵀ (a column n),
// zero outside the matrix. The block stages each K-slice of both operands in shared memory,
// converted to the compute type on the way (that conversion is why the copy goes through
// registers and not cp.async), in a ring of stages (two; three for wgmma, see WgmmaTile): the
// global loads of slice t+1 are in flight while slice t is multiplied. CPU counterpart: backend/cpu/Sgemm.java (through CpuMatmul and
// CpuConv).
#pragma once
#include "common.cuh"

// The ordinals of CudaMatmul.Precision.
enum Precision { PREC_FLOAT32 = 0, PREC_TF32 = 1, PREC_BF16 = 2 };

namespace gemm {

constexpr int TILE = 128;     // rows of A and columns of B per block (BM = BN)
constexpr int THREADS = 256;  // 8 warps
constexpr int GROUP = 8;      // tile rows per band of the block raster (L2 reuse)

// Shared memory, per operand and stage: TILE rows (m of A, n of B), each holding one K-slice
// of 64 bytes (16 floats, or 32 bf16) as four 16-byte chunks. Where chunk c of row r goes is the
// tile's Layout:
constexpr int CHUNK = 16;
constexpr int SLICE_BYTES = 64;

// Rows of 64 bytes plus 16 of padding (mma.sync and SIMT). The 80-byte pitch (20 words) puts
// rows r..r+7 on distinct 4-bank groups (20 r mod 32 = 0, 20, 8, 28, 16, 4, 24, 12), so the
// 16-byte stores of 8 consecutive rows, ldmatrix's 8 row reads and the SIMT path's float4 reads
// are all free of bank conflicts.
struct PaddedRows {
    static constexpr int PITCH = 80;
    static constexpr int BYTES = TILE * PITCH;
    __device__ static int at(int r, int c) { return r * PITCH + c * CHUNK; }
};

// wgmma's canonical K-major layout without swizzling (PTX ISA 9.7.15.5.1.2): "core matrices" of
// 8 rows x 16 bytes, each 128 contiguous bytes. Here chunk c of all TILE rows forms one plane,
// so the core matrices of a plane follow each other (SBO, the step between 8-row groups, is 128
// bytes) and the planes are LBO = TILE x 16 bytes apart (the step along k). 8 consecutive rows
// of one chunk are 128 contiguous bytes: their 16-byte stores are conflict-free.
struct CoreMatrices {
    static constexpr int SBO = 8 * CHUNK;
    static constexpr int LBO = TILE * CHUNK;
    static constexpr int BYTES = TILE * SLICE_BYTES;
    __device__ static int at(int r, int c) { return c * LBO + r * CHUNK; }
};

// k per 16-byte chunk: 4 floats (FLOAT32, TF32) or 8 bf16. A K-slice is 4 chunks.
template <int P> constexpr int RUN = P == PREC_BF16 ? 8 : 4;
template <int P> constexpr int SLICE_K = 4 * RUN<P>;
// Blocks per multiprocessor the kernels are built for (__launch_bounds__): two on the tensor
// cores (registers capped at 128, 16 warps to hide the global loads), one for FLOAT32, whose
// 8 x 8 accumulators and float4 fragments need about 250 registers.
template <int P> constexpr int MIN_BLOCKS = P == PREC_FLOAT32 ? 1 : 2;

#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || defined(MAGVIT4J_EMULATOR_SM90A)
#define GEMM_WGMMA 1  // this build is for sm_90a: TF32 and BF16 tiles on wgmma
#endif

// ------------------------------------------------------------------ PTX (BEGIN PTX)
// The only inline assembly: conversions, ldmatrix and the two mma shapes (PTX ISA 9.7.14).
// MAGVIT4J_EMULATOR: the test suite's CPU emulator (src/test/cuda-emulator) compiles these files
// with a host compiler and supplies the same instructions as warp-wide C++.

__device__ __forceinline__ unsigned to_tf32(float v) {
#ifdef MAGVIT4J_EMULATOR
    return emu::cvt_rna_tf32(v);
#else
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
    return r;
#endif
}

// Two floats as bf16x2, round to nearest even: lo in bits 0..15 (the lower k), hi in 16..31.
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
#ifdef MAGVIT4J_EMULATOR
    return emu::cvt_rn_bf16x2(hi, lo);
#else
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));  // first source -> upper half
    return r;
#endif
}

// ldmatrix.x4: lanes 8q..8q+7 give the addresses of the 8 rows (16 bytes each) of matrix q;
// r[q] of lane l then holds the 32-bit word l % 4 of row l / 4 of matrix q.
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* row) {
#ifdef MAGVIT4J_EMULATOR
    emu::ldmatrix_x4(r, row);
#else
    unsigned a = (unsigned) __cvta_generic_to_shared(row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
#endif
}

// d += a · b, 16x8x16 bf16 (A row-major, B column-major, float32 accumulators).
__device__ __forceinline__ void mma_bf16(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
#ifdef MAGVIT4J_EMULATOR
    emu::mma_m16n8k16_bf16(d, a, b0, b1);
#else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// d += a · b, 16x8x8 tf32.
__device__ __forceinline__ void mma_tf32(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
#ifdef MAGVIT4J_EMULATOR
    emu::mma_m16n8k8_tf32(d, a, b0, b1);
#else
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}
#ifdef GEMM_WGMMA
// wgmma (PTX ISA 9.7.15): a warpgroup (4 warps, 128 threads) multiplies a 64 x k block of A by a
// k x 128 block of B, both in shared memory and named by 64-bit matrix descriptors, into
// accumulators spread over its threads. The instruction is asynchronous: it is issued, committed
// in a group, and its results (and its reads of shared memory) are complete only after a
// wgmma.wait_group. The emulator runs each one at that wait.

// Descriptor of a K-major, unswizzled operand (CoreMatrices) whose core matrix (0, 0) is at
// `offset` bytes into the tile `base`: start address, LBO and SBO, each in 16-byte units
// (9.7.15.5.1.2.2). The emulator resolves the start against the tile it is given with it.
__device__ __forceinline__ unsigned long long wgmma_desc(const unsigned char* base, int offset) {
#ifdef MAGVIT4J_EMULATOR
    unsigned addr = (unsigned) offset;
#else
    unsigned addr = (unsigned) __cvta_generic_to_shared(base) + offset;
#endif
    return (unsigned long long) ((addr & 0x3FFFF) >> 4) | (unsigned long long) (CoreMatrices::LBO >> 4) << 16 |
           (unsigned long long) (CoreMatrices::SBO >> 4) << 32;
}

// Orders this thread's earlier register accesses (the accumulators) before the wgmma that follows.
__device__ __forceinline__ void wgmma_fence() {
#ifndef MAGVIT4J_EMULATOR
    asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#endif
}

// Shared memory written by ordinary stores becomes visible to wgmma (the "async proxy") only
// after this fence (and the barrier that follows it).
__device__ __forceinline__ void fence_proxy_async() {
#ifndef MAGVIT4J_EMULATOR
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
}

__device__ __forceinline__ void wgmma_commit() {
#ifdef MAGVIT4J_EMULATOR
    emu::wgmma_commit();
#else
    asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
#endif
}

// Waits until at most N committed groups are still running.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
#ifdef MAGVIT4J_EMULATOR
    emu::wgmma_wait(N);
#else
    asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
#endif
}

// Tells the compiler the accumulators may change here (an issued wgmma writes them later).
__device__ __forceinline__ void wgmma_touch(float (&d)[64]) {
#ifndef MAGVIT4J_EMULATOR
#pragma unroll
    for (int i = 0; i < 64; i++) asm volatile("" : "+f"(d[i])::"memory");
#endif
}

#define WGMMA_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define WGMMA_D64 WGMMA_D8(0), WGMMA_D8(8), WGMMA_D8(16), WGMMA_D8(24), WGMMA_D8(32), WGMMA_D8(40), WGMMA_D8(48), WGMMA_D8(56)

// d += A · B for the warpgroup's 64 x 128 accumulators, k = 16 bf16 or 8 tf32 (32 bytes of k):
// thread i of the warpgroup holds d[4j + c] = (16 (i / 32) + g + 8 (c / 2), 8 j + 2 t + c % 2),
// g = i % 32 / 4, t = i % 4 (9.7.15.5.1.1.1). Both operands K-major (the transpose immediates 0).
template <int P>
__device__ __forceinline__ void wgmma_m64n128(float (&d)[64], unsigned long long da, unsigned long long db,
                                              const unsigned char* a_tile, const unsigned char* b_tile) {
#ifdef MAGVIT4J_EMULATOR
    emu::wgmma_m64n128(d, da, db, a_tile, b_tile, P == PREC_BF16);
#else
    if constexpr (P == PREC_BF16) {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
                     : WGMMA_D64
                     : "l"(da), "l"(db), "n"(1));
    } else {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
                     : WGMMA_D64
                     : "l"(da), "l"(db), "n"(1));
    }
#endif
}
#endif  // GEMM_WGMMA
// ------------------------------------------------------------------ (END PTX)

// n / d for 0 <= n < 2^31 by a multiply and a shift (the sources split flat indices such as
// k = (c, i, j) in their inner loops). With l = ceil(log2 d) and mul = ceil(2^(31+l) / d) < 2^32,
// n·mul / 2^(31+l) = n/d + n·e / (d·2^(31+l)) with e < d <= 2^l, and that excess is below 1/d,
// so the floor is exact.
struct FastDiv {
    unsigned mul;
    int shift;

    FastDiv() = default;
    __device__ explicit FastDiv(int d) {
        int l = 32 - __clz(d - 1);
        mul = (unsigned) (((1ull << (31 + l)) + d - 1) / d);
        shift = 31 + l;
    }
    __device__ __forceinline__ int div(int n) const {
        return (int) (((unsigned long long) (unsigned) n * mul) >> shift);
    }
};

// A row-major-like matrix read in place: element (r, k) at p[r * rs + k * cs]. As A: r = m. As
// B: r = n, so B[k, n] = p[n * rs + k * cs]. K_MAJOR when k is the contiguous direction (cs = 1):
// then a run of k is one or two float4 loads where aligned.
template <bool KMAJOR>
struct StridedSrc {
    static constexpr bool K_MAJOR = KMAJOR;
    const float* p;
    int rows, K, rs, cs;

    struct Row {
        int at;  // offset of the row's first element; -1 past the last row
    };
    __device__ Row row(int r) const {
        return {r < rows ? r * rs : -1};
    }
    template <int N>
    __device__ void load(const Row& r, int k, float (&v)[N]) const {
        if (KMAJOR && r.at >= 0 && cs == 1 && k + N <= K && ((uintptr_t) (p + r.at + k) & 15) == 0) {
#pragma unroll
            for (int e = 0; e < N; e += 4) {
                float4 f = *(const float4*) (p + r.at + k + e);
                v[e] = f.x;
                v[e + 1] = f.y;
                v[e + 2] = f.z;
                v[e + 3] = f.w;
            }
        } else {
#pragma unroll
            for (int e = 0; e < N; e++) v[e] = r.at >= 0 && k + e < K ? p[r.at + (k + e) * cs] : 0.f;
        }
    }
};

// C written row-major: c[m * N + n] = v (+ bias[n]), inside the M x N bounds.
struct RowMajorOut {
    float* c;
    const float* bias;  // [N] or null
    int M, N;

    __device__ __forceinline__ void operator()(int m, int n, float v) const {
        if (m < M && n < N) c[m * N + n] = bias ? v + bias[n] : v;
    }
};

// One operand's share of a K-slice: each thread moves two runs of RUN consecutive k (16 bytes in
// shared memory once converted). Thread t's runs, for s = 0, 1 and u = t + 256 s:
//   K-major source:   row u % 8 + 8 (u / 32), chunk u / 8 % 4  (a warp reads 64 contiguous
//                     bytes of each of 8 rows)
//   MN-major source:  row t % 128, chunk t/128 + 2 s  (a warp reads 32 consecutive rows)
// so global reads are coalesced along whichever direction the source is contiguous in, and 8
// consecutive threads store one chunk of 8 consecutive rows (conflict-free in both layouts).
template <int P, class Src, class Layout>
struct OperandLoader {
    static constexpr int R = RUN<P>;
    typename Src::Row rows[2];
    int kofs[2];  // k offset of the run within the slice
    int sofs[2];  // byte offset of the run within the operand's shared tile
    float v[2][R];

    __device__ void init(const Src& src, int row0, int t) {
#pragma unroll
        for (int s = 0; s < 2; s++) {
            int u = t + THREADS * s;
            int r = Src::K_MAJOR ? (u & 7) + 8 * (u >> 5) : t & 127;
            int chunk = Src::K_MAJOR ? (u >> 3) & 3 : (t >> 7) + 2 * s;
            rows[s] = src.row(row0 + r);
            kofs[s] = chunk * R;
            sofs[s] = Layout::at(r, chunk);
        }
    }
    __device__ void load(const Src& src, int k0) {
#pragma unroll
        for (int s = 0; s < 2; s++) src.load(rows[s], k0 + kofs[s], v[s]);
    }
    // Converts to the compute type and stores the two 16-byte chunks.
    __device__ void store(unsigned char* tile) const {
#pragma unroll
        for (int s = 0; s < 2; s++) {
            uint4 q;
            if constexpr (P == PREC_BF16) {
                q = make_uint4(pack_bf16(v[s][0], v[s][1]), pack_bf16(v[s][2], v[s][3]),
                               pack_bf16(v[s][4], v[s][5]), pack_bf16(v[s][6], v[s][7]));
            } else if constexpr (P == PREC_TF32) {
                q = make_uint4(to_tf32(v[s][0]), to_tf32(v[s][1]), to_tf32(v[s][2]), to_tf32(v[s][3]));
            } else {
                q = make_uint4(__float_as_uint(v[s][0]), __float_as_uint(v[s][1]), __float_as_uint(v[s][2]), __float_as_uint(v[s][3]));
            }
            *(uint4*) (tile + sofs[s]) = q;
        }
    }
};

// FLOAT32 on the CUDA cores. Thread (tr, tc) = (t / 16, t % 16) owns rows tr + 16 i and columns
// tc + 16 j (i, j < 8). Per chunk of 4 k it reads 8 float4 of A rows (a warp touches only two
// rows: broadcasts) and 8 float4 of B columns (8 consecutive columns per quarter warp: conflict
// free), then does 8 x 8 x 4 FMAs.
struct SimtTile {
    using Layout = PaddedRows;
    static constexpr int PITCH = Layout::PITCH;
    float acc[8][8];

    __device__ void zero() {
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
            for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
    }
    __device__ void multiply(const unsigned char* a, const unsigned char* b) {
        int tr = threadIdx.x >> 4, tc = threadIdx.x & 15;
#pragma unroll
        for (int chunk = 0; chunk < 4; chunk++) {
            float4 av[8], bv[8];
#pragma unroll
            for (int i = 0; i < 8; i++) av[i] = *(const float4*) (a + (tr + 16 * i) * PITCH + chunk * CHUNK);
#pragma unroll
            for (int j = 0; j < 8; j++) bv[j] = *(const float4*) (b + (tc + 16 * j) * PITCH + chunk * CHUNK);
#pragma unroll
            for (int i = 0; i < 8; i++) {
#pragma unroll
                for (int j = 0; j < 8; j++) {
                    acc[i][j] = fmaf(av[i].x, bv[j].x, acc[i][j]);
                    acc[i][j] = fmaf(av[i].y, bv[j].y, acc[i][j]);
                    acc[i][j] = fmaf(av[i].z, bv[j].z, acc[i][j]);
                    acc[i][j] = fmaf(av[i].w, bv[j].w, acc[i][j]);
                }
            }
        }
    }
    static constexpr int STAGES = 2;
    __device__ void finish_slice() {}  // multiply() is synchronous
    __device__ void drain() {}
    template <class Out>
    __device__ void store(const Out& out, int m0, int n0) const {
        int tr = threadIdx.x >> 4, tc = threadIdx.x & 15;
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
            for (int j = 0; j < 8; j++) out(m0 + tr + 16 * i, n0 + tc + 16 * j, acc[i][j]);
    }
};

// TF32 / BF16 on the tensor cores. Warp w computes the 64 x 32 sub-tile at rows 64 (w % 2),
// columns 32 (w / 2): 4 x 4 mma tiles of 16 x 8. A K-slice is two mma steps of 32 bytes of k
// each (k16 bf16 or k8 tf32), and the fragments of both types come from shared memory with the
// same byte addressing, because in both a fragment register is the 32-bit word t of row g of an
// 8 x 16-byte matrix (g = lane / 4, t = lane % 4; PTX ISA 9.7.14.5.7-8):
//
//   A (16 x k, row-major), ldmatrix.x4 matrices  0: rows 0-7, bytes 0-15   1: rows 8-15, bytes 0-15
//                                                2: rows 0-7, bytes 16-31  3: rows 8-15, bytes 16-31
//     bf16 m16n8k16: a0a1 = (g, 2t..2t+1)  a2a3 = (g+8, 2t..)  a4a5 = (g, 8+2t..)  a6a7 = (g+8, 8+2t..)
//     tf32 m16n8k8:  a0 = (g, t)  a1 = (g+8, t)  a2 = (g, t+4)  a3 = (g+8, t+4)
//     -> register q of lane l is exactly matrix q's word: row g (+8 for q odd), k-bytes 16 (q / 2).
//   B (k x 8, "col": stored as 8 rows n of k), ldmatrix.x4 for two n-tiles j, j+1, matrices
//     0: n 0-7 of j, bytes 0-15   1: n 0-7 of j, bytes 16-31   2: tile j+1, bytes 0-15   3: j+1, 16-31
//     bf16: b0b1 = (k 2t..2t+1, n g)  b2b3 = (k 8+2t.., n g);  tf32: b0 = (k t, n g)  b1 = (k t+4, n g)
//   C (16 x 8, float): c0, c1 = (g, 2t), (g, 2t+1);  c2, c3 = (g+8, 2t), (g+8, 2t+1).
template <int P>
struct TensorTile {
    using Layout = PaddedRows;
    static constexpr int PITCH = Layout::PITCH;
    float acc[4][4][4];  // [m-tile][n-tile][c register]

    __device__ void zero() {
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int r = 0; r < 4; r++) acc[i][j][r] = 0.f;
    }
    __device__ void multiply(const unsigned char* a, const unsigned char* b) {
        int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        int wm = (warp & 1) * 64, wn = (warp >> 1) * 32;
        // Row and byte column this lane addresses for ldmatrix (see the matrix numbering above):
        // A: lanes 8..15 and 24..31 take rows 8-15; lanes 16..31 the second 16 bytes.
        int a_row = wm + (lane & 7) + ((lane >> 3) & 1) * 8, a_col = (lane >> 4) * 16;
        // B: lanes 16..31 take the next n-tile; lanes 8..15 and 24..31 the second 16 bytes.
        int b_row = wn + (lane & 7) + (lane >> 4) * 8, b_col = ((lane >> 3) & 1) * 16;
#pragma unroll
        for (int step = 0; step < SLICE_BYTES / 32; step++) {
            unsigned af[4][4], bf[4][2];
#pragma unroll
            for (int i = 0; i < 4; i++) ldmatrix_x4(af[i], a + (a_row + 16 * i) * PITCH + step * 32 + a_col);
#pragma unroll
            for (int j = 0; j < 4; j += 2) {
                unsigned r[4];
                ldmatrix_x4(r, b + (b_row + 8 * j) * PITCH + step * 32 + b_col);
                bf[j][0] = r[0];
                bf[j][1] = r[1];
                bf[j + 1][0] = r[2];
                bf[j + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    if constexpr (P == PREC_BF16) mma_bf16(acc[i][j], af[i], bf[j][0], bf[j][1]);
                    else mma_tf32(acc[i][j], af[i], bf[j][0], bf[j][1]);
                }
            }
        }
    }
    static constexpr int STAGES = 2;
    __device__ void finish_slice() {}  // mma.sync is synchronous
    __device__ void drain() {}
    template <class Out>
    __device__ void store(const Out& out, int m0, int n0) const {
        int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        int g = lane >> 2, t = lane & 3;
        int m = m0 + (warp & 1) * 64 + g, n = n0 + (warp >> 1) * 32 + 2 * t;
#pragma unroll
        for (int i = 0; i < 4; i++) {
#pragma unroll
            for (int j = 0; j < 4; j++) {
                out(m + 16 * i, n + 8 * j, acc[i][j][0]);
                out(m + 16 * i, n + 8 * j + 1, acc[i][j][1]);
                out(m + 16 * i + 8, n + 8 * j, acc[i][j][2]);
                out(m + 16 * i + 8, n + 8 * j + 1, acc[i][j][3]);
            }
        }
    }
};

#ifdef GEMM_WGMMA
// TF32 / BF16 on Hopper's warpgroup MMA. Warpgroup w (threads 128 w ..) computes rows 64 w ..
// 64 w + 63 of the tile, all 128 columns: per K-slice two wgmma of 32 bytes of k each, issued
// and committed by multiply() as one group. Three stages, so the tensor cores need not drain at
// each barrier: finish_slice() waits for all but the newest group, which leaves slice s running
// while slice s+1 is published, and guarantees that slice s-1's stage, the one the next
// iteration stores into, has been read (its group ended before this barrier).
template <int P>
struct WgmmaTile {
    using Layout = CoreMatrices;
    static constexpr int STAGES = 3;
    float acc[64];

    __device__ void zero() {
#pragma unroll
        for (int i = 0; i < 64; i++) acc[i] = 0.f;
    }
    __device__ void multiply(const unsigned char* a, const unsigned char* b) {
        int rows = (threadIdx.x >> 7) * 64 * CHUNK;  // this warpgroup's first row in each plane
        wgmma_touch(acc);
        wgmma_fence();
#pragma unroll
        for (int step = 0; step < SLICE_BYTES / 32; step++) {  // chunks 2 step, 2 step + 1
            int k = 2 * step * Layout::LBO;
            wgmma_m64n128<P>(acc, wgmma_desc(a, rows + k), wgmma_desc(b, k), a, b);
        }
        wgmma_commit();
        wgmma_touch(acc);
    }
    // The stage just written is published to wgmma; every group but the newest has ended.
    __device__ void finish_slice() {
        fence_proxy_async();
        wgmma_wait<STAGES - 2>();
        wgmma_touch(acc);
    }
    // Every group has ended: the accumulators are final.
    __device__ void drain() {
        wgmma_wait<0>();
        wgmma_touch(acc);
    }
    template <class Out>
    __device__ void store(const Out& out, int m0, int n0) const {
        int i = threadIdx.x & 127, lane = i & 31;
        int m = m0 + (threadIdx.x >> 7) * 64 + (i >> 5) * 16 + (lane >> 2), n = n0 + 2 * (lane & 3);
#pragma unroll
        for (int j = 0; j < 16; j++) {
            out(m, n + 8 * j, acc[4 * j]);
            out(m, n + 8 * j + 1, acc[4 * j + 1]);
            out(m + 8, n + 8 * j, acc[4 * j + 2]);
            out(m + 8, n + 8 * j + 1, acc[4 * j + 3]);
        }
    }
};
template <int P> struct Tile : WgmmaTile<P> {};
#else
template <int P> struct Tile : TensorTile<P> {};
#endif
template <> struct Tile<PREC_FLOAT32> : SimtTile {};

// The block's tile (m0, n0) from blockIdx.x: bands of GROUP tile rows, walked column by column,
// so blocks running together share A rows and B columns in L2.
__device__ __forceinline__ void tile_origin(int M, int N, int& m0, int& n0) {
    int tiles_m = (M + TILE - 1) / TILE, tiles_n = (N + TILE - 1) / TILE;
    int band = blockIdx.x / (GROUP * tiles_n), first = band * GROUP;
    int rows = min(tiles_m - first, GROUP), local = blockIdx.x - band * GROUP * tiles_n;
    m0 = (first + local % rows) * TILE;
    n0 = (local / rows) * TILE;
}

// out(m, n, sum over k in [k_begin, k_end) of A[m, k] B[k, n]) for the tile at (m0, n0); blocks
// of THREADS threads. k_begin is a multiple of the K-slice and k_end is K or one too (the
// sources zero k >= K only), which the split-K callers guarantee.
template <int P, class SrcA, class SrcB, class Out>
__device__ void gemm_tile(const SrcA& a, const SrcB& b, const Out& out, int m0, int n0, int k_begin, int k_end) {
    using T = Tile<P>;
    constexpr int OPERAND = T::Layout::BYTES, STAGE = 2 * OPERAND;  // a stage: A, then B
    __shared__ __align__(128) unsigned char smem[T::STAGES * STAGE];  // a ring of stages
    constexpr int SK = SLICE_K<P>;
    OperandLoader<P, SrcA, typename T::Layout> la;
    OperandLoader<P, SrcB, typename T::Layout> lb;
    la.init(a, m0, threadIdx.x);
    lb.init(b, n0, threadIdx.x);
    T tile;
    tile.zero();
    int slices = k_end > k_begin ? (k_end - k_begin + SK - 1) / SK : 0;
    if (slices > 0) {
        la.load(a, k_begin);
        lb.load(b, k_begin);
        la.store(smem);
        lb.store(smem + OPERAND);
    }
    tile.finish_slice();
    __syncthreads();
    for (int s = 0, stage = 0; s < slices; s++, stage = stage + 1 == T::STAGES ? 0 : stage + 1) {
        unsigned char* cur = smem + stage * STAGE;
        unsigned char* next = smem + (stage + 1 == T::STAGES ? 0 : stage + 1) * STAGE;
        bool more = s + 1 < slices;
        if (more) {  // issue the next slice's global loads before multiplying this one
            la.load(a, k_begin + (s + 1) * SK);
            lb.load(b, k_begin + (s + 1) * SK);
        }
        tile.multiply(cur, cur + OPERAND);
        if (more) {  // the next stage was last read by slice s + 1 - STAGES, done before the last barrier
            la.store(next);
            lb.store(next + OPERAND);
        }
        tile.finish_slice();
        __syncthreads();
    }
    tile.drain();
    tile.store(out, m0, n0);
}

}  // namespace gemm
