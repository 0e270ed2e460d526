// Rotary embedding on interleaved pairs. CPU twin: backend/cpu/CpuRope.java. For x [..., T, D]
// and angle tables cos, sin [T, D/2], pair (x[2i], x[2i+1]) of a row at position t becomes
// (x0·c - x1·s, x0·s + x1·c) with c = cos[t, i], s = sign·sin[t, i]; sign = -1 rotates back
// (the backward: the rotation is orthogonal). A position with cos = sin = 0 (the class token,
// SPEC.md section 2) maps to zero.
#include "packed.cuh"

// x a view (e.g. q or k split out of a fused projection), cos and sin contiguous; n = x.numel().
// A run of 4 elements is two pairs of one row when half is even, else runs are single pairs.
// The products are rounded separately (__fmul_rn, no fused multiply-add), as Java rounds them.
extern "C" __global__ void rope(float* out, const float* xbase, Layout xl, const float* cosv, const float* sinv, int n, int t,
                                int half, float sign) {
    View x(xbase, xl);
    for_each_packed<4, 2>(n, half % 2 == 0 && x.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value, P = W / 2;   // P pairs
        int pair = i / 2, row = pair / half, col = pair - row * half, tab = (row % t) * half + col;
        Pack<W> v = x.load<W>(i);
        Pack<P> c = load_pack<P>(cosv + tab), s = load_pack<P>(sinv + tab);
#pragma unroll
        for (int q = 0; q < P; q++) {
            float x0 = v.v[2 * q], x1 = v.v[2 * q + 1], sn = sign * s.v[q];
            v.v[2 * q] = __fmul_rn(x0, c.v[q]) - __fmul_rn(x1, sn);
            v.v[2 * q + 1] = __fmul_rn(x0, sn) + __fmul_rn(x1, c.v[q]);
        }
        store_pack<W>(out + i, v);
    });
}
