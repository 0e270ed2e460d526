// Depth-to-space in DCR order and its inverse, space-to-depth (its backward). CPU twin:
// backend/cpu/CpuDepthToSpace.java. SPEC.md section 1, with C output channels and block r:
//   wide[n, c, y·r + i, x·r + j] = deep[n, (i·r + j)·C + c, y, x].
#include "packed.cuh"

// One thread per deep pixel (n, c, y, x), c < C: it moves that pixel's r x r block, whose rows
// are runs of r consecutive wide floats (i fixed, j = 0..r-1) gathered from r deep planes.
// R is r when known at compile time (2, the models' block: runs move as float2), 0 otherwise.
template <int R, bool INVERSE>
__device__ __forceinline__ void move_blocks(float* out, const float* in, int pixels, int C, int h, int w, int r_runtime) {
    const int r = R > 0 ? R : r_runtime;
    const int plane = h * w, channel_step = C * plane;   // deep distance from channel (i·r + j)·C + c to j + 1
    FOR_EACH(p, pixels) {
        int x = p % w, q = p / w, y = q % h;
        q /= h;
        int c = q % C, n = q / C;
        for (int i = 0; i < r; i++) {
            int wide = ((n * C + c) * h * r + y * r + i) * (w * r) + x * r;   // wide[n, c, y·r + i, x·r]
            int deep = (n * r * r + i * r) * channel_step + c * plane + y * w + x;   // deep[n, (i·r)·C + c, y, x]
            if constexpr (R > 0) {
                Pack<R> run;
                if constexpr (INVERSE) {
                    run = load_pack<R>(in + wide);
#pragma unroll
                    for (int j = 0; j < R; j++) out[deep + j * channel_step] = run.v[j];
                } else {
#pragma unroll
                    for (int j = 0; j < R; j++) run.v[j] = in[deep + j * channel_step];
                    store_pack<R>(out + wide, run);
                }
            } else {
                for (int j = 0; j < r; j++) {
                    if constexpr (INVERSE) out[deep + j * channel_step] = in[wide + j];
                    else out[wide + j] = in[deep + j * channel_step];
                }
            }
        }
    }
}

// in and out contiguous; pixels = B·C·h·w with (C, h, w) the deep side's geometry (C = deep
// channels / r²); inverse maps wide → deep.
extern "C" __global__ void depth_to_space(float* out, const float* in, int pixels, int C, int h, int w, int r, int inverse) {
    if (r == 2) {
        if (inverse) move_blocks<2, true>(out, in, pixels, C, h, w, r);
        else move_blocks<2, false>(out, in, pixels, C, h, w, r);
    } else {
        if (inverse) move_blocks<0, true>(out, in, pixels, C, h, w, r);
        else move_blocks<0, false>(out, in, pixels, C, h, w, r);
    }
}
