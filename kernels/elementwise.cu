// Elementwise kernels: unary ops and their gradients, binary ops with NumPy broadcasting,
// affine (x·scale + shift) and in-place axpby (y = a·x + b·y). CPU twin:
// backend/cpu/CpuElementwise.java, whose formulas (and NaN behaviour) these mirror.
//
// Inputs arrive as views (base + Layout, broadcast ones with stride 0), outputs are contiguous;
// each thread handles 4 consecutive output elements (packed.cuh), so contiguous operands move
// as float4 and broadcast or strided ones cost one index computation per 4 elements.
#include "packed.cuh"

// The order of Backend.UnaryOp and Backend.BinaryOp.
enum class UnaryOp { EXP, LOG, SQRT, RSQRT, ABS, SQUARE, POW, RELU, LEAKY_RELU, SIGMOID, SILU, SOFTPLUS, GELU_TANH, TANH, SIGN };
enum class BinaryOp { ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, EQ, GT, GE };

// sqrt(2/pi) and the cubic coefficient of the tanh approximation of GELU.
constexpr float GELU_K = 0.7978845608028654f, GELU_C = 0.044715f;
// PyTorch's softplus threshold: above it softplus(x) = x.
constexpr float SOFTPLUS_THRESHOLD = 20.f;

__device__ __forceinline__ float sigmoid(float x) {
    return 1.f / (1.f + expf(-x));
}

// 1, -1 or 0 (also for NaN).
__device__ __forceinline__ float sign(float x) {
    return x > 0.f ? 1.f : x < 0.f ? -1.f : 0.f;
}

// x^a as VectorMath.pow gives it: repeated squaring for integer |a| <= 16, else powf (the sign
// of x for odd a), except that negative x (-inf included) with a non-integer a, every |a| >= 2^24
// counting as one, gives NaN.
__device__ __forceinline__ float pow_cpu(float x, float a) {
    if (a == 0.f) return 1.f;
    if (a == rintf(a) && fabsf(a) <= 16.f) {
        float result = 1.f, base = x;
        for (int k = (int) fabsf(a); k > 0; k >>= 1) {
            if (k & 1) result *= base;
            if (k > 1) base *= base;
        }
        return a > 0.f ? result : 1.f / result;
    }
    bool integer = a == rintf(a) && fabsf(a) < 16777216.f;
    if (x < 0.f && !integer) return NAN;
    return powf(x, a);
}

// Java's Math.max / Math.min: NaN if either operand is NaN (fmaxf would return the other).
__device__ __forceinline__ float max_nan(float a, float b) {
    return a != a || b != b ? NAN : fmaxf(a, b);
}

__device__ __forceinline__ float min_nan(float a, float b) {
    return a != a || b != b ? NAN : fminf(a, b);
}

__device__ __forceinline__ float unary_forward(UnaryOp op, float alpha, float x) {
    switch (op) {
        case UnaryOp::EXP: return expf(x);
        case UnaryOp::LOG: return logf(x);
        case UnaryOp::SQRT: return sqrtf(x);
        case UnaryOp::RSQRT: return 1.f / sqrtf(x);
        case UnaryOp::ABS: return fabsf(x);
        case UnaryOp::SQUARE: return x * x;
        case UnaryOp::POW: return pow_cpu(x, alpha);
        case UnaryOp::RELU: return x < 0.f ? 0.f : x;   // NaN and -0 pass, as on the CPU
        case UnaryOp::LEAKY_RELU: return x < 0.f ? x * alpha : x;
        case UnaryOp::SIGMOID: return sigmoid(x);
        case UnaryOp::SILU: return x * sigmoid(x);
        // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), without overflow.
        case UnaryOp::SOFTPLUS: return x > SOFTPLUS_THRESHOLD ? x : fmaxf(x, 0.f) + log1pf(expf(-fabsf(x)));
        case UnaryOp::GELU_TANH: return (tanhf((x * x * GELU_C + 1.f) * x * GELU_K) + 1.f) * x * 0.5f;
        case UnaryOp::TANH: return tanhf(x);
        case UnaryOp::SIGN: return sign(x);
    }
    return NAN;
}

// dx = dy · op'(x), with y = op(x) for the derivatives that read it.
__device__ __forceinline__ float unary_backward(UnaryOp op, float alpha, float x, float y, float dy) {
    switch (op) {
        case UnaryOp::EXP: return dy * y;
        case UnaryOp::LOG: return dy / x;
        case UnaryOp::SQRT: return dy * 0.5f / y;
        case UnaryOp::RSQRT: return dy * -0.5f * y * y * y;   // d x^-1/2 = -x^-3/2 / 2
        case UnaryOp::ABS: return dy * sign(x);
        case UnaryOp::SQUARE: return dy * x * 2.f;
        case UnaryOp::POW: return alpha == 0.f ? 0.f : dy * alpha * pow_cpu(x, alpha - 1.f);
        case UnaryOp::RELU: return x > 0.f ? dy : 0.f;
        case UnaryOp::LEAKY_RELU: return x > 0.f ? dy : dy * alpha;
        case UnaryOp::SIGMOID: return dy * y * (1.f - y);
        case UnaryOp::SILU: {
            float s = sigmoid(x);   // d x·σ(x) = σ(x)·(1 + x·(1 - σ(x)))
            return dy * (s * (x * (1.f - s) + 1.f));
        }
        case UnaryOp::SOFTPLUS: return x > SOFTPLUS_THRESHOLD ? dy : dy * sigmoid(x);
        case UnaryOp::GELU_TANH: {
            // 0.5·x·(1 + tanh u), u = K·(x + C·x³): derivative 0.5·(1 + t) + 0.5·x·(1 - t²)·u'.
            float x2 = x * x, t = tanhf((x2 * GELU_C + 1.f) * x * GELU_K);
            float du = (x2 * (3.f * GELU_C) + 1.f) * GELU_K;
            return dy * ((t + 1.f) * 0.5f + x * 0.5f * (1.f - t * t) * du);
        }
        case UnaryOp::TANH: return dy * (1.f - y * y);
        case UnaryOp::SIGN: return 0.f;
    }
    return NAN;
}

__device__ __forceinline__ float binary_op(BinaryOp op, float a, float b) {
    switch (op) {
        case BinaryOp::ADD: return a + b;
        case BinaryOp::SUB: return a - b;
        case BinaryOp::MUL: return a * b;
        case BinaryOp::DIV: return a / b;
        case BinaryOp::MAXIMUM: return max_nan(a, b);
        case BinaryOp::MINIMUM: return min_nan(a, b);
        case BinaryOp::EQ: return a == b ? 1.f : 0.f;
        case BinaryOp::GT: return a > b ? 1.f : 0.f;
        case BinaryOp::GE: return a >= b ? 1.f : 0.f;
    }
    return NAN;
}

// out[i] = op(x[i]) over n elements.
extern "C" __global__ void unary(float* out, const float* xbase, Layout xl, int op, float alpha, int n) {
    View x(xbase, xl);
    for_each_packed<4, 1>(n, x.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> v = x.load<W>(i);
#pragma unroll
        for (int k = 0; k < W; k++) v.v[k] = unary_forward((UnaryOp) op, alpha, v.v[k]);
        store_pack<W>(out + i, v);
    });
}

// out[i] = dy[i]·op'(x[i]); y = op(x) is read when has_y, else recomputed (ybase is then unused).
extern "C" __global__ void unary_backward(float* out, const float* xbase, Layout xl, const float* ybase, Layout yl, int has_y,
                                          const float* dybase, Layout dyl, int op, float alpha, int n) {
    View x(xbase, xl), y(ybase, yl), dy(dybase, dyl);
    for_each_packed<4, 1>(n, x.packs(4) && y.packs(4) && dy.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> xv = x.load<W>(i), g = dy.load<W>(i), yv;
        if (has_y) yv = y.load<W>(i);
#pragma unroll
        for (int k = 0; k < W; k++) {
            float yk = has_y ? yv.v[k] : unary_forward((UnaryOp) op, alpha, xv.v[k]);
            g.v[k] = unary_backward((UnaryOp) op, alpha, xv.v[k], yk, g.v[k]);
        }
        store_pack<W>(out + i, g);
    });
}

// out[i] = a[i] op b[i]; a and b come with layouts broadcast to out's shape.
extern "C" __global__ void binary(float* out, const float* abase, Layout al, const float* bbase, Layout bl, int op, int n) {
    View a(abase, al), b(bbase, bl);
    for_each_packed<4, 1>(n, a.packs(4) && b.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> u = a.load<W>(i), v = b.load<W>(i);
#pragma unroll
        for (int k = 0; k < W; k++) u.v[k] = binary_op((BinaryOp) op, u.v[k], v.v[k]);
        store_pack<W>(out + i, u);
    });
}

// out[i] = x[i]·scale + shift (one fused multiply-add, like the CPU's fma).
extern "C" __global__ void affine(float* out, const float* xbase, Layout xl, float scale, float shift, int n) {
    View x(xbase, xl);
    for_each_packed<4, 1>(n, x.packs(4), [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> v = x.load<W>(i);
#pragma unroll
        for (int k = 0; k < W; k++) v.v[k] = fmaf(v.v[k], scale, shift);
        store_pack<W>(out + i, v);
    });
}

// In place on contiguous y: y[i] = a·x[i] + b·y[i].
__device__ __forceinline__ void axpby_update(float* y, const View& x, float a, float b, int n, int block, int blocks) {
    for_each_packed<4, 1>(n, x.packs(4), block, blocks, [&](int i, auto w) {
        constexpr int W = decltype(w)::value;
        Pack<W> u = x.load<W>(i), v = load_pack<W>(y + i);
#pragma unroll
        for (int k = 0; k < W; k++) v.v[k] = a * u.v[k] + b * v.v[k];
        store_pack<W>(y + i, v);
    });
}

extern "C" __global__ void axpby(float* y, const float* xbase, Layout xl, float a, float b, int n) {
    axpby_update(y, View(xbase, xl), a, b, n, blockIdx.x, gridDim.x);
}

// axpby for each tensor of the list, both contiguous: ptr[0] y, ptr[1] x.
extern "C" __global__ void axpbys(const __grid_constant__ TensorList t, float a, float b) {
    int i = list_tensor(t);
    axpby_update((float*) t.ptr[0][i], View((const float*) t.ptr[1][i], contiguous(t.n[i])), a, b, t.n[i], blockIdx.x - t.start[i],
                 t.start[i + 1] - t.start[i]);
}
