// 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, 2016),
// the GPU twin of backend/cpu/Winograd.java (same transforms, interpolation points 0, ±1, ±2):
// each 4x4 tile of output comes from a 6x6 tile of input as
//
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// 36 multiplies per tile and channel pair instead of 144. Over the channels the elementwise
// products are 36 independent matrix products, one per position k of the 6x6 transformed tile,
// which CudaWinograd runs as one batched matmul (matmul.cu) between two of these kernels:
//
//   winograd_filters   U[k][o][c]  = (G g Gᵀ)[k],  g = w[o, c]                 [36, O, C]
//   winograd_inputs    V[k][c][t]  = (Bᵀ d B)[k],  d = the 6x6 patch of tile t  [36, C, T]
//   (matmul)           M[k]        = U[k] · V[k]                                [36, O, T]
//   winograd_outputs   y tile t of channel o = Aᵀ M[·][o][t] A (+ bias[o])
//
// Tiles t are numbered row-major over the batch (image, tile row, tile column); a call covers
// tiles [t0, t0 + nt), so V and M stay bounded at any batch size. Each thread transforms one
// (channel, tile) pair: consecutive threads take consecutive tiles, so the 36 planes of V and M
// are read and written in coalesced runs and a warp's patches cover contiguous image rows.
#include "common.cuh"

// The 1-D transforms, applied to the columns and then to the rows of a tile.

// G (6 x 3): six values of a 3-tap filter.
__device__ __forceinline__ void filter_1d(float g0, float g1, float g2, float* r, int stride) {
    r[0] = 0.25f * g0;
    r[stride] = -(g0 + g1 + g2) * (1.f / 6.f);
    r[2 * stride] = -(g0 - g1 + g2) * (1.f / 6.f);
    r[3 * stride] = g0 * (1.f / 24.f) + g1 * (1.f / 12.f) + g2 * (1.f / 6.f);
    r[4 * stride] = g0 * (1.f / 24.f) - g1 * (1.f / 12.f) + g2 * (1.f / 6.f);
    r[5 * stride] = g2;
}

// Bᵀ (6 x 6) on six inputs d[0], d[stride], ...
__device__ __forceinline__ void input_1d(const float* d, int stride, float* r, int rstride) {
    float d0 = d[0], d1 = d[stride], d2 = d[2 * stride], d3 = d[3 * stride], d4 = d[4 * stride], d5 = d[5 * stride];
    r[0] = 4.f * d0 - 5.f * d2 + d4;
    r[rstride] = -4.f * (d1 + d2) + d3 + d4;
    r[2 * rstride] = 4.f * (d1 - d2) - d3 + d4;
    r[3 * rstride] = 2.f * (d3 - d1) - d2 + d4;
    r[4 * rstride] = 2.f * (d1 - d3) - d2 + d4;
    r[5 * rstride] = 4.f * d1 - 5.f * d3 + d5;
}

// Aᵀ (4 x 6) on six products m[0], m[stride], ...
__device__ __forceinline__ void output_1d(const float* m, int stride, float* r, int rstride) {
    float p12 = m[stride] + m[2 * stride], m12 = m[stride] - m[2 * stride];
    float p34 = m[3 * stride] + m[4 * stride], m34 = m[3 * stride] - m[4 * stride];
    r[0] = m[0] + p12 + p34;
    r[rstride] = m12 + 2.f * m34;
    r[2 * rstride] = p12 + 4.f * p34;
    r[3 * rstride] = m12 + 8.f * m34 + m[5 * stride];
}

// U[k][r][q] for the rows x cols filters of a convolution with `rows` output and `cols` input
// channels: g = w[r, q] (w is [rows, cols, 3, 3]), or with flip set, for the input gradient (the
// convolution of dy with the kernel transposed in channels and rotated by 180 degrees),
// g[i][j] = w[q, r, 2 - i, 2 - j] (w is [cols, rows, 3, 3]).
extern "C" __global__ void winograd_filters(float* __restrict__ u, const float* __restrict__ w, int rows, int cols, int flip) {
    int filters = rows * cols;
    FOR_EACH(f, filters) {
        int r = f / cols, q = f - r * cols;
        float g[9];
        const float* src = w + (flip ? q * rows + r : f) * 9;
#pragma unroll
        for (int i = 0; i < 9; i++) g[i] = src[flip ? 8 - i : i];
        float t[18], v[36];  // t = G g (6 x 3), v = t Gᵀ (6 x 6)
#pragma unroll
        for (int j = 0; j < 3; j++) filter_1d(g[j], g[3 + j], g[6 + j], t + j, 3);
#pragma unroll
        for (int i = 0; i < 6; i++) filter_1d(t[3 * i], t[3 * i + 1], t[3 * i + 2], v + 6 * i, 1);
#pragma unroll
        for (int k = 0; k < 36; k++) u[k * filters + f] = v[k];
    }
}

// V[k][c][t - t0] for channels c < g.c and tiles t0 <= t < t0 + nt: the input tile's 6 x 6 patch
// starts at (4 ty - ph, 4 tx - pw), zero outside the image.
extern "C" __global__ void winograd_inputs(float* __restrict__ v, const float* __restrict__ x, ConvGeom g, int t0, int nt) {
    int tiles_w = (g.ow + 3) / 4, tiles_h = (g.oh + 3) / 4, plane = g.c * nt;
    FOR_EACH(i, plane) {
        int c = i / nt, local = i - c * nt, t = t0 + local;
        int tx = t % tiles_w, rest = t / tiles_w, ty = rest % tiles_h, b = rest / tiles_h;
        const float* src = x + (b * g.c + c) * g.h * g.w;
        int y0 = 4 * ty - g.ph, x0 = 4 * tx - g.pw;
        float d[36], e[36];
#pragma unroll
        for (int r = 0; r < 6; r++)
#pragma unroll
            for (int q = 0; q < 6; q++) {
                int yy = y0 + r, xx = x0 + q;
                d[6 * r + q] = (unsigned) yy < (unsigned) g.h && (unsigned) xx < (unsigned) g.w ? src[yy * g.w + xx] : 0.f;
            }
#pragma unroll
        for (int q = 0; q < 6; q++) input_1d(d + q, 6, e + q, 6);  // columns: e = Bᵀ d
#pragma unroll
        for (int r = 0; r < 6; r++) input_1d(e + 6 * r, 1, d + 6 * r, 1);  // rows: d = e B
#pragma unroll
        for (int k = 0; k < 36; k++) v[k * plane + i] = d[k];
    }
}

// The output tiles t0 <= t < t0 + nt of every channel o < g.o from M[k][o][t - t0]: Aᵀ M A
// (+ bias[o]), cut at the image's right and bottom edges. Where rows are a multiple of 4 wide
// (no tile is cut on the right, and every tile row is 16-byte aligned) a tile row is one float4.
extern "C" __global__ void winograd_outputs(float* __restrict__ y, const float* __restrict__ m, const float* __restrict__ bias, ConvGeom g,
                                            int t0, int nt) {
    int tiles_w = (g.ow + 3) / 4, tiles_h = (g.oh + 3) / 4, plane = g.o * nt;
    FOR_EACH(i, plane) {
        int o = i / nt, local = i - o * nt, t = t0 + local;
        int tx = t % tiles_w, rest = t / tiles_w, ty = rest % tiles_h, b = rest / tiles_h;
        float p[36], e[24], r[16];
#pragma unroll
        for (int k = 0; k < 36; k++) p[k] = m[k * plane + i];
#pragma unroll
        for (int q = 0; q < 6; q++) output_1d(p + q, 6, e + q, 6);  // columns: e = Aᵀ p (4 x 6)
#pragma unroll
        for (int a = 0; a < 4; a++) output_1d(e + 6 * a, 1, r + 4 * a, 1);  // rows: r = e A (4 x 4)
        float add = bias ? bias[o] : 0.f;
        float* dst = y + (b * g.o + o) * g.oh * g.ow;
        int oy = 4 * ty, ox = 4 * tx;
        bool whole_rows = (g.ow & 3) == 0;
#pragma unroll
        for (int a = 0; a < 4; a++) {
            if (oy + a >= g.oh) break;
            float* row = dst + (oy + a) * g.ow + ox;
            if (whole_rows) {
                *reinterpret_cast<float4*>(row) = make_float4(r[4 * a] + add, r[4 * a + 1] + add, r[4 * a + 2] + add, r[4 * a + 3] + add);
            } else {
#pragma unroll
                for (int q = 0; q < 4; q++)
                    if (ox + q < g.ow) row[q] = r[4 * a + q] + add;
            }
        }
    }
}
