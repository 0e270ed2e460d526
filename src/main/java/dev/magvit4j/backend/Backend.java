package dev.magvit4j.backend;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.List;

/**
 * The kernels of one device. Ops in {@code dev.magvit4j.ops} do shape checking and autograd,
 * then call these; a backend only computes. Inputs may be strided views unless a method says
 * "contiguous"; outputs are fresh contiguous tensors on this backend's device. All float math
 * is float32.
 *
 * <p>Each method here has a CPU implementation in {@code backend/cpu} and a CUDA one in
 * {@code backend/cuda}, under the same concept name (CpuConv / CudaConv, ...).
 */
public interface Backend {

    Device device();

    // ------------------------------------------------------------------ memory

    /** Uninitialised tensor (contents unspecified). */
    Tensor empty(DType dtype, int... shape);

    /** dst[i] = src[i] for tensors of the same shape; either may be a strided view; dtypes may differ. */
    void copy(Tensor src, Tensor dst);

    void fill(Tensor dst, double value);

    enum Distribution { UNIFORM, NORMAL }

    /** UNIFORM(a, b): uniform in [a, b); NORMAL(a, b): mean a, standard deviation b. */
    void fillRandom(Tensor dst, Distribution dist, double a, double b, Generator gen);

    /** A contiguous copy of a tensor of any device, on this device. */
    Tensor transfer(Tensor src);

    /** A contiguous copy, on the CPU, of a tensor on this backend's device. */
    Tensor toCpu(Tensor src);

    // ------------------------------------------------------------------ elementwise

    enum UnaryOp { EXP, LOG, SQRT, RSQRT, ABS, SQUARE, POW, RELU, LEAKY_RELU, SIGMOID, SILU, SOFTPLUS, GELU_TANH, TANH, SIGN }

    /** y = op(x); {@code alpha} is the exponent of POW and the negative slope of LEAKY_RELU. */
    Tensor unary(UnaryOp op, float alpha, Tensor x);

    /** dx = dy * op'(x); y is op(x) (some derivatives are cheaper from y). */
    Tensor unaryBackward(UnaryOp op, float alpha, Tensor x, Tensor y, Tensor dy);

    enum BinaryOp { ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, EQ, GT, GE }

    /** out = a op b with NumPy broadcasting; comparisons give 1.0 / 0.0. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    /** out = x * scale + shift. */
    Tensor affine(Tensor x, float scale, float shift);

    /** In place: y = a * x + b * y (y contiguous, same shape as x). */
    void axpby(float a, Tensor x, float b, Tensor y);

    /**
     * {@link #axpby} for each pair (ys[i] = a·xs[i] + b·ys[i]: an EMA update over a module's
     * parameters). A backend may fuse them; CUDA does, in one launch per 64 pairs.
     */
    default void axpbys(float a, List<Tensor> xs, float b, List<Tensor> ys) {
        requireSameLengths("axpbys", xs, ys);
        for (int i = 0; i < xs.size(); i++) axpby(a, xs.get(i), b, ys.get(i));
    }

    /** Throws unless the lists of a multi-tensor method have one length. */
    static void requireSameLengths(String method, List<?> first, List<?>... others) {
        for (List<?> o : others) {
            if (o.size() != first.size()) throw new IllegalArgumentException(method + ": lists of " + first.size() + " and " + o.size() + " tensors");
        }
    }

    // ------------------------------------------------------------------ reductions

    enum ReduceOp { SUM, MEAN, MAX, MIN }

    /** Reduces over the given (sorted, distinct, non-negative) dims; an empty list reduces nothing. */
    Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim);

    /**
     * Σ over the tensors of the sum of their squared elements, as a 0-d float32 tensor on this
     * backend (the square of a global gradient norm, left where it is computed). A backend may
     * fuse it; CUDA does, in one launch per 64 tensors and one for the total.
     */
    default Tensor sumOfSquares(List<Tensor> xs) {
        Tensor sums = empty(DType.FLOAT32, xs.size());
        for (int i = 0; i < xs.size(); i++) {
            Tensor x = xs.get(i);
            int[] all = new int[x.dim()];
            for (int d = 0; d < all.length; d++) all[d] = d;
            copy(reduce(ReduceOp.SUM, unary(UnaryOp.SQUARE, 0f, x), all, false).reshape(1), sums.slice(0, i, i + 1));
        }
        return reduce(ReduceOp.SUM, sums, new int[] {0}, false);
    }

    /** Variance over dims, dividing by (n - correction). */
    Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim);

    /** Index of the maximum along one dim (first one on ties), int64. */
    Tensor argmax(Tensor x, int dim, boolean keepDim);

    // ------------------------------------------------------------------ linear algebra

    /**
     * a [..., M, K] @ b [..., K, N] (+ bias [N]), batch dims broadcast. Transposed views of the
     * last two dims are read in place, without copies.
     */
    Tensor matmul(Tensor a, Tensor b, Tensor bias);

    /** NCHW convolution, weight OIHW, optional bias [O]. */
    Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW);

    /** Gradient of conv2d with respect to its input, of shape inputShape. */
    Tensor conv2dBackwardInput(Tensor dy, Tensor weight, int[] inputShape, int strideH, int strideW, int padH, int padW);

    /** Gradient of conv2d with respect to its weight, of shape weightShape. */
    Tensor conv2dBackwardWeight(Tensor dy, Tensor x, int[] weightShape, int strideH, int strideW, int padH, int padW);

    /**
     * Max pooling of x [B, C, H, W] over k x k windows with the given stride (no padding, floor
     * mode). Returns {out, argmax [B, C, OH, OW] int32: each maximum's index within its H x W plane}.
     */
    Tensor[] maxPool2d(Tensor x, int kernel, int stride);

    /** dx of max pooling: dy added at the argmax positions (zeros elsewhere), shaped like x. */
    Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape);

    // ------------------------------------------------------------------ normalisation

    /**
     * GroupNorm over x [B, C, *]: y = (x - mean) * rstd * scale + shift, statistics per
     * (sample, group), then silu(y) when silu (fused: the tokenizer's ResBlocks apply swish after
     * every GroupNorm). scale and shift are null, [C] (GroupNorm's affine) or [B, C] (the adaptive
     * GroupNorm of the decoder). Returns {y, mean [B, G], rstd [B, G]}.
     */
    Tensor[] groupNorm(Tensor x, int groups, float eps, Tensor scale, Tensor shift, boolean silu);

    /**
     * Returns {dx, dscale, dshift}: the affine gradients per (sample, channel), [B, C], whatever
     * the tables' shapes (the caller sums over samples for [C] tables); null when scale or shift
     * is null. With silu, dy is the gradient of silu(y); y is recomputed from the statistics.
     */
    Tensor[] groupNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor rstd, int groups, Tensor scale, Tensor shift, boolean silu);

    /** RMSNorm over the last dim: y = x * rsqrt(mean(x^2) + eps) * weight. Returns {y, rstd [rows]}. */
    Tensor[] rmsNorm(Tensor x, Tensor weight, float eps);

    /** Returns {dx, dweight}. */
    Tensor[] rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd);

    // ------------------------------------------------------------------ softmax and losses

    /** Softmax (or log-softmax) over the last dim of a contiguous tensor. */
    Tensor softmax(Tensor x, boolean log);

    /** Gradient of softmax / log-softmax over the last dim, from its output y. */
    Tensor softmaxBackward(Tensor y, Tensor dy, boolean log);

    /**
     * Cross-entropy of logits [N, C] against int64 targets [N]. Returns {loss per row [N],
     * logsumexp per row [N]}. Targets equal to ignoreIndex give loss 0.
     */
    Tensor[] crossEntropy(Tensor logits, Tensor targets, long ignoreIndex);

    /** d logits = (softmax(logits) - onehot(target)) * dloss[row]; ignored rows get 0. */
    Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor logsumexp, Tensor dloss, long ignoreIndex);

    // ------------------------------------------------------------------ indexing

    /** out[..., :] = weight[idx[...], :]; idx int64 or int32. */
    Tensor embedding(Tensor weight, Tensor idx);

    /** dweight [numEmbeddings, D] from dy [..., D]: sums rows by index. */
    Tensor embeddingBackward(Tensor dy, Tensor idx, int numEmbeddings);

    /** torch.gather: out[i][j][k] = x[i][idx[i][j][k]][k] for dim 1, and so on. */
    Tensor gather(Tensor x, int dim, Tensor idx);

    /** Gradient of gather: zeros of shape xShape with src added at the gathered positions. */
    Tensor scatterAdd(int[] xShape, int dim, Tensor idx, Tensor src);

    /** Dropout mask of x's shape: 0 with probability p, else 1/(1-p). */
    Tensor dropoutMask(int[] shape, float p, Generator gen);

    // ------------------------------------------------------------------ fused ops of the models

    /**
     * LFQ sign quantisation of z [B, C, *] along C: quantized = +1 where z > 0 else -1; index
     * = sum_k 2^k [z_k > 0]; one index per factor group of bits (C = sum of groupBits).
     * Returns {quantized (like z), index [B, *] int64, group indices [B, *] int64 each...}.
     */
    Tensor[] lfqQuantize(Tensor z, int[] groupBits);

    /**
     * The LFQ entropy terms of SPEC.md section 1, exactly, never holding tokens x 2^C numbers,
     * for z [B, C, *]. Returns {[per-sample entropy, codebook entropy], the batch-average code
     * probabilities [2^C] (kept for the backward)}.
     */
    Tensor[] lfqEntropy(Tensor z, float temperature);

    /** dz from the upstream gradients of the two entropy terms (d per-sample, d codebook). */
    Tensor lfqEntropyBackward(Tensor z, Tensor avgProbs, float temperature, float dPerSample, float dCodebook);

    /**
     * Rotary embedding over x [..., T, D] on interleaved pairs (x[2i], x[2i+1]):
     * cos, sin [T, D/2]. With inverse, rotates by the negative angle (the backward).
     */
    Tensor rope(Tensor x, Tensor cos, Tensor sin, boolean inverse);

    /**
     * Scaled dot-product attention of q [B, H, Tq, D] against k, v [B, H, Tk, D]: query i sits
     * at key position i + (Tk - Tq) (so a KV cache works); causal hides later keys; mask
     * (bool [Tq, Tk] or [B, 1|H, Tq, Tk], true = attend) is optional. No Tq x Tk matrix is kept.
     * Returns {out [B, H, Tq, D], logsumexp [B, H, Tq]}.
     */
    Tensor[] attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale);

    /** Returns {dq, dk, dv}. */
    Tensor[] attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor logsumexp, Tensor dout, Tensor mask, boolean causal, float scale);

    /** silu(a) * b. */
    Tensor swiglu(Tensor a, Tensor b);

    /** Returns {da, db}. */
    Tensor[] swigluBackward(Tensor a, Tensor b, Tensor dout);

    /**
     * Depth-to-space in DCR order: out[n, c, by+i, bx+j] = in[n, (i*block + j)*C + c, y, x]
     * (SPEC.md section 1; not PyTorch's pixel_shuffle order). With inverse, space-to-depth.
     */
    Tensor depthToSpace(Tensor x, int block, boolean inverse);

    /** The output shape of depthToSpace for x of shape s; an error names a shape it cannot take. */
    static int[] depthToSpaceShape(int[] s, int r, boolean inverse) {
        if (s.length != 4 || r < 1) throw new IllegalArgumentException("depth-to-space needs [B, C, H, W] and block >= 1, got " + Shape.str(s) + " block " + r);
        if (inverse) {
            if (s[2] % r != 0 || s[3] % r != 0) {
                throw new IllegalArgumentException("space-to-depth of " + Shape.str(s) + ": height and width must be multiples of " + r);
            }
            return new int[] {s[0], s[1] * r * r, s[2] / r, s[3] / r};
        }
        if (s[1] % (r * r) != 0) {
            throw new IllegalArgumentException("depth-to-space of " + Shape.str(s) + ": channels must be a multiple of " + (r * r));
        }
        return new int[] {s[0], s[1] / (r * r), s[2] * r, s[3] * r};
    }

    // ------------------------------------------------------------------ optimiser

    /**
     * One Adam/AdamW step in place on param, m, v. weightDecay is decoupled (AdamW) when
     * decoupled, else added to the gradient (Adam's L2).
     */
    void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                  float weightDecay, boolean decoupled, long step);

    /**
     * {@link #adamStep} for each parameter i, all with the same settings (an optimiser's parameter
     * group). A backend may fuse them; CUDA does, in one launch per 64 parameters.
     */
    default void adamSteps(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float lr, float beta1, float beta2, float eps,
                           float weightDecay, boolean decoupled, long step) {
        requireSameLengths("adamSteps", params, grads, m, v);
        for (int i = 0; i < params.size(); i++) adamStep(params.get(i), grads.get(i), m.get(i), v.get(i), lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }
}
