// One fused Adam / AdamW step, in place on param, m and v. CPU twin: backend/cpu/CpuAdam.java,
// whose formula this mirrors (PyTorch's):
//   g' = g + l2·p;  m = β1·m + (1-β1)·g';  v = β2·v + (1-β2)·g'²;
//   p = decay·p - step_size · m / (sqrt(v) / sqrt(1-β2^t) + eps),
// with step_size = lr / (1-β1^t), and either l2 = wd, decay = 1 (Adam's L2 penalty in the
// gradient) or l2 = 0, decay = 1 - lr·wd (AdamW's decoupled decay). The wrapper folds the
// scalars.
#include "packed.cuh"

// The step on n elements by `blocks` blocks of which this is `block`: param, m, v contiguous
// (any offset), grad a view.
__device__ __forceinline__ void adam_update(float* param, const View& grad, float* m, float* v, int n, int block, int blocks,
                                            float beta1, float beta2, float eps, float step_size, float bc2_sqrt, float decay, float l2) {
    for_each_packed<4, 1>(n, grad.packs(4), block, blocks, [&](int i, auto w) {
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

extern "C" __global__ void adam_step(float* param, const float* gbase, Layout gl, float* m, float* v, int n, float beta1, float beta2,
                                     float eps, float step_size, float bc2_sqrt, float decay, float l2) {
    adam_update(param, View(gbase, gl), m, v, n, blockIdx.x, gridDim.x, beta1, beta2, eps, step_size, bc2_sqrt, decay, l2);
}

// The same step for each tensor of the list (one optimiser group: the same scalars), all four
// contiguous: ptr[0] param, ptr[1] grad, ptr[2] m, ptr[3] v.
extern "C" __global__ void adam_steps(const __grid_constant__ TensorList t, float beta1, float beta2, float eps, float step_size,
                                      float bc2_sqrt, float decay, float l2) {
    int i = list_tensor(t);
    adam_update((float*) t.ptr[0][i], View((const float*) t.ptr[1][i], contiguous(t.n[i])), (float*) t.ptr[2][i], (float*) t.ptr[3][i], t.n[i],
                blockIdx.x - t.start[i], t.start[i + 1] - t.start[i], beta1, beta2, eps, step_size, bc2_sqrt, decay, l2);
}
