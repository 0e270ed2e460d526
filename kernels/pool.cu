// Max pooling over k x k windows (no padding, floor mode) of NCHW planes, with the argmax index
// within the H x W plane, and its backward. CPU counterpart: backend/cpu/CpuPool.java.
#include "common.cuh"

// One thread per output. The window is scanned row by row; a value replaces the best when
// greater, or when NaN (NaN wins, as in PyTorch), so the first maximum wins ties.
extern "C" __global__ void max_pool2d(float* out, int* argmax, const float* x, int planes, int h, int w, int oh, int ow,
                                      int k, int stride) {
    FOR_EACH(idx, planes * oh * ow) {
        int p = idx / (oh * ow), q = idx - p * (oh * ow), y = q / ow, xx = q - y * ow;
        const float* in = x + p * h * w;
        int best = y * stride * w + xx * stride;
        float bv = in[best];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                int at = (y * stride + i) * w + xx * stride + j;
                float v = in[at];
                if (v > bv || isnan(v)) {
                    bv = v;
                    best = at;
                }
            }
        }
        out[idx] = bv;
        argmax[idx] = best;
    }
}

// dx (zeroed by the caller) [p, argmax] += dy [p, o] for every output o of plane p. Windows
// overlap only when stride < k; there the atomic adds may sum in any order.
extern "C" __global__ void max_pool2d_backward(float* dx, const float* dy, const int* argmax, int planes, int plane,
                                               int out_plane) {
    FOR_EACH(idx, planes * out_plane) atomicAdd(dx + (idx / out_plane) * plane + argmax[idx], dy[idx]);
}
