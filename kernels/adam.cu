// One fused Adam / AdamW step, in place on param, m and v. CPU twin: backend/cpu/CpuAdam.java,
// whose formula this mirrors (PyTorch's):
//   g' = g + l2·p;  m = β1·m + (1-β1)·g';  v = β2·v + (1-β2)·g'²;
//   p = decay·p - step_size · m / (sqrt(v) / sqrt(1-β2^t) + eps),
// with step_size = lr / (1-β1^t), and either l2 = wd, decay = 1 (Adam's L2 penalty in the
// gradient) or l2 = 0, decay = 1 - lr·wd (AdamW's decoupled decay). The wrapper folds the
// scalars.
#include "packed.cuh"

// param, m, v contiguous (any offset); grad a view.
extern "C" __global__ void adam_step(float* param, const float* gbase, Layout gl, float* m, float* v, int n, float beta1, float beta2,
                                     float eps, float step_size, float bc2_sqrt, float decay, float l2) {
    View grad(gbase, gl);
    for_each_packed<4, 1>(n, grad.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> p = load_pack<W>(param + i), g = grad.load<W>(i), m1 = load_pack<W>(m + i), v1 = load_pack<W>(v + i);
#pragma unroll
        for (int k = 0; k < W; k++) {
            float gk = g.v[k] + p.v[k] * l2;
            m1.v[k] = m1.v[k] * beta1 + gk * (1.f - beta1);
            v1.v[k] = v1.v[k] * beta2 + gk * gk * (1.f - beta2);
            p.v[k] = p.v[k] * decay - m1.v[k] / (sqrtf(v1.v[k]) / bc2_sqrt + eps) * step_size;
        }
        store_pack<W>(m + i, m1);
        store_pack<W>(v + i, v1);
        store_pack<W>(param + i, p);
    });
}
