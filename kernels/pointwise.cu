// Fused pointwise ops of the models, one thread per element (or per pair): SwiGLU and its
// gradient, rotary embedding, depth-to-space, and the Adam step. CPU twins: CpuSwiglu, CpuRope,
// CpuDepthToSpace, CpuAdam. All read and write contiguous float32 tensors.
#include "common.cuh"

__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

extern "C" __global__ void swiglu_forward(float* out, const float* a, const float* b, int n) {
    FOR_EACH(i, n) out[i] = a[i] * sigmoidf(a[i]) * b[i];
}

// da = dout·b·σ(a)·(1 + a·(1 - σ(a))),  db = dout·a·σ(a).
extern "C" __global__ void swiglu_backward(float* da, float* db, const float* a, const float* b, const float* dout, int n) {
    FOR_EACH(i, n) {
        float x = a[i], s = sigmoidf(x), g = dout[i];
        da[i] = g * b[i] * (s * (1.f + x * (1.f - s)));
        db[i] = g * x * s;
    }
}

// One thread per pair (x[2i], x[2i+1]) of row r (position r % t): rotated by the table's angle;
// sign = -1 rotates back (the backward). A position with cos = sin = 0 maps to zero (SPEC.md §2).
extern "C" __global__ void rope(float* out, const float* x, const float* cosv, const float* sinv, int pairs, int t, int half, float sign) {
    FOR_EACH(p, pairs) {
        int r = p / half, i = p - r * half, tab = (r % t) * half + i;
        float c = cosv[tab], s = sign * sinv[tab];
        float x0 = x[2 * p], x1 = x[2 * p + 1];
        out[2 * p] = x0 * c - x1 * s;
        out[2 * p + 1] = x0 * s + x1 * c;
    }
}

// DCR depth-to-space (SPEC.md §1): wide[n, c, y·r+i, x·r+j] = deep[n, (i·r+j)·C + c, y, x].
// One thread per wide element; with inverse the same map copies wide → deep (space-to-depth).
extern "C" __global__ void depth_to_space(float* out, const float* in, int n, int channels, int h, int w, int r, int inverse) {
    FOR_EACH(e, n) {
        int wr = w * r, hr = h * r;
        int X = e % wr, Y = (e / wr) % hr, c = (e / (wr * hr)) % channels, b = e / (wr * hr * channels);
        int y = Y / r, i = Y - y * r, x = X / r, j = X - x * r;
        int deep = ((b * channels * r * r + (i * r + j) * channels + c) * h + y) * w + x;
        if (inverse) out[deep] = in[e];
        else out[e] = in[deep];
    }
}

// PyTorch's Adam/AdamW (see CpuAdam): l2 > 0 adds l2·p to g (Adam); decay = 1 - lr·wd (AdamW).
extern "C" __global__ void adam_step(float* p, const float* g, float* m, float* v, int n, float beta1, float beta2,
                                     float eps, float stepSize, float bc2Sqrt, float decay, float l2) {
    FOR_EACH(i, n) {
        float pp = p[i], gg = g[i] + pp * l2;
        float m1 = m[i] * beta1 + gg * (1.f - beta1);
        float v1 = v[i] * beta2 + gg * gg * (1.f - beta2);
        m[i] = m1;
        v[i] = v1;
        p[i] = pp * decay - m1 / (sqrtf(v1) / bc2Sqrt + eps) * stepSize;
    }
}
