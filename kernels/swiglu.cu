// The SwiGLU gate of the Llama feed-forward, out = silu(a)·b, and its gradients. CPU twin:
// backend/cpu/CpuSwiglu.java. a and b are views (often the two halves of one projection's
// output, strided along rows), read in float4 runs where their rows allow.
#include "packed.cuh"

__device__ __forceinline__ float sigmoid(float x) {
    return 1.f / (1.f + expf(-x));
}

extern "C" __global__ void swiglu_forward(float* out, const float* abase, Layout al, const float* bbase, Layout bl, int n) {
    View a(abase, al), b(bbase, bl);
    for_each_packed<4, 1>(n, a.packs(4) && b.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> x = a.load<W>(i), y = b.load<W>(i);
#pragma unroll
        for (int k = 0; k < W; k++) x.v[k] = x.v[k] * sigmoid(x.v[k]) * y.v[k];
        store_pack<W>(out + i, x);
    });
}

// da = dout·b·σ(a)·(1 + a·(1 - σ(a))),  db = dout·a·σ(a).
extern "C" __global__ void swiglu_backward(float* da, float* db, const float* abase, Layout al, const float* bbase, Layout bl,
                                           const float* gbase, Layout gl, int n) {
    View a(abase, al), b(bbase, bl), dout(gbase, gl);
    for_each_packed<4, 1>(n, a.packs(4) && b.packs(4) && dout.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> x = a.load<W>(i), y = b.load<W>(i), g = dout.load<W>(i), dx, dy;
#pragma unroll
        for (int k = 0; k < W; k++) {
            float s = sigmoid(x.v[k]);
            dx.v[k] = g.v[k] * y.v[k] * (s * (x.v[k] * (1.f - s) + 1.f));
            dy.v[k] = g.v[k] * x.v[k] * s;
        }
        store_pack<W>(da + i, dx);
        store_pack<W>(db + i, dy);
    });
}
