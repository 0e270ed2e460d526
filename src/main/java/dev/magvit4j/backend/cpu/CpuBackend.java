package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

/**
 * The CPU backend: Java arrays, SIMD through {@code jdk.incubator.vector}, all cores through
 * {@link Parallel}. This class only dispatches; each concept has its own file (CpuConv,
 * CpuNorm, Sgemm, ...), named like its CUDA counterpart.
 */
public final class CpuBackend implements Backend {

    @Override
    public Device device() {
        return Device.CPU;
    }

    static Tensor allocate(DType dtype, int[] shape) {
        int[] s = shape.clone();
        return new Tensor(CpuStorage.allocate(dtype, Shape.numel(s)), s, Shape.contiguousStrides(s), 0);
    }

    /** A float32 CPU tensor over an array the kernel just filled. */
    static Tensor tensor(float[] data, int... shape) {
        int[] s = shape.clone();
        return new Tensor(new CpuStorage(data), s, Shape.contiguousStrides(s), 0);
    }

    // ------------------------------------------------------------------ memory

    @Override
    public Tensor empty(DType dtype, int... shape) {
        return allocate(dtype, shape);
    }

    /** Wraps an array without copying (float[], long[], int[] or byte[]). */
    public Tensor wrap(Object array, int[] shape) {
        CpuStorage s = switch (array) {
            case float[] f -> new CpuStorage(f);
            case long[] l -> new CpuStorage(l);
            case int[] i -> new CpuStorage(i);
            case byte[] b -> new CpuStorage(b);
            default -> throw new IllegalArgumentException("cannot wrap a " + array.getClass().getSimpleName());
        };
        int[] sh = shape.clone();
        return new Tensor(s, sh, Shape.contiguousStrides(sh), 0);
    }

    /** The float array behind a contiguous float32 CPU tensor and its offset: for kernels and I/O. */
    public static float[] data(Tensor t) {
        return ((CpuStorage) t.storage()).floats();
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CpuCopy.copy(src, dst);
    }

    @Override
    public void fill(Tensor dst, double value) {
        CpuCopy.fill(dst, value);
    }

    @Override
    public void fillRandom(Tensor dst, Distribution dist, double a, double b, Generator gen) {
        CpuCopy.fillRandom(dst, dist, a, b, gen);
    }

    @Override
    public Tensor transfer(Tensor src) {
        if (!src.device().isCpu()) return src.backend().toCpu(src);
        return toCpu(src);
    }

    @Override
    public Tensor toCpu(Tensor src) {
        Tensor out = allocate(src.dtype(), src.shapeRef());
        CpuCopy.copy(src, out);
        return out;
    }

    /** The Java array behind a contiguous CPU tensor that starts its storage: for device copies. */
    public Object array(Tensor t) {
        if (!t.isContiguous() || t.offset() != 0 || t.storage().length() != t.numel()) {
            throw new IllegalArgumentException("array() needs a tensor that is its whole storage");
        }
        return ((CpuStorage) t.storage()).array();
    }

    public float[] toFloatArray(Tensor t) {
        Tensor c = allocate(DType.FLOAT32, t.shapeRef());
        CpuCopy.copy(t, c);
        return data(c);
    }

    public long[] toLongArray(Tensor t) {
        Tensor c = allocate(DType.INT64, t.shapeRef());
        CpuCopy.copy(t, c);
        return ((CpuStorage) c.storage()).longs();
    }

    /** Element at a storage offset, as a float. */
    public float get(Tensor t, int storageOffset) {
        return (float) ((CpuStorage) t.storage()).getDouble(storageOffset);
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public Tensor unary(UnaryOp op, float alpha, Tensor x) {
        return CpuElementwise.unary(op, alpha, x);
    }

    @Override
    public Tensor unaryBackward(UnaryOp op, float alpha, Tensor x, Tensor y, Tensor dy) {
        return CpuElementwise.unaryBackward(op, alpha, x, y, dy);
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        return CpuElementwise.binary(op, a, b);
    }

    @Override
    public Tensor affine(Tensor x, float scale, float shift) {
        return CpuElementwise.affine(x, scale, shift);
    }

    @Override
    public void axpby(float a, Tensor x, float b, Tensor y) {
        CpuElementwise.axpby(a, x, b, y);
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        return CpuReduce.reduce(op, x, dims, keepDim);
    }

    @Override
    public Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim) {
        return CpuReduce.variance(x, dims, correction, keepDim);
    }

    @Override
    public Tensor argmax(Tensor x, int dim, boolean keepDim) {
        return CpuReduce.argmax(x, dim, keepDim);
    }

    // ------------------------------------------------------------------ linear algebra

    @Override
    public Tensor matmul(Tensor a, Tensor b, Tensor bias) {
        return CpuMatmul.matmul(a, b, bias);
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW) {
        return CpuConv.forward(x, weight, bias, strideH, strideW, padH, padW);
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor weight, int[] inputShape, int strideH, int strideW, int padH, int padW) {
        return CpuConv.backwardInput(dy, weight, inputShape, strideH, strideW, padH, padW);
    }

    @Override
    public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, int[] weightShape, int strideH, int strideW, int padH, int padW) {
        return CpuConv.backwardWeight(dy, x, weightShape, strideH, strideW, padH, padW);
    }

    @Override
    public Tensor[] maxPool2d(Tensor x, int kernel, int stride) {
        return CpuPool.maxPool2d(x, kernel, stride);
    }

    @Override
    public Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape) {
        return CpuPool.maxPool2dBackward(dy, argmax, xShape);
    }

    // ------------------------------------------------------------------ normalisation

    @Override
    public Tensor[] groupNorm(Tensor x, int groups, float eps, Tensor scale, Tensor shift, boolean silu) {
        return CpuNorm.groupNorm(x, groups, eps, scale, shift, silu);
    }

    @Override
    public Tensor[] groupNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor rstd, int groups, Tensor scale, Tensor shift, boolean silu) {
        return CpuNorm.groupNormBackward(dy, x, mean, rstd, groups, scale, shift, silu);
    }

    @Override
    public Tensor[] rmsNorm(Tensor x, Tensor weight, float eps) {
        return CpuNorm.rmsNorm(x, weight, eps);
    }

    @Override
    public Tensor[] rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd) {
        return CpuNorm.rmsNormBackward(dy, x, weight, rstd);
    }

    // ------------------------------------------------------------------ softmax and losses

    @Override
    public Tensor softmax(Tensor x, boolean log) {
        return CpuSoftmax.softmax(x, log);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy, boolean log) {
        return CpuSoftmax.softmaxBackward(y, dy, log);
    }

    @Override
    public Tensor[] crossEntropy(Tensor logits, Tensor targets, long ignoreIndex) {
        return CpuSoftmax.crossEntropy(logits, targets, ignoreIndex);
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor logsumexp, Tensor dloss, long ignoreIndex) {
        return CpuSoftmax.crossEntropyBackward(logits, targets, logsumexp, dloss, ignoreIndex);
    }

    // ------------------------------------------------------------------ indexing

    @Override
    public Tensor embedding(Tensor weight, Tensor idx) {
        return CpuIndex.embedding(weight, idx);
    }

    @Override
    public Tensor embeddingBackward(Tensor dy, Tensor idx, int numEmbeddings) {
        return CpuIndex.embeddingBackward(dy, idx, numEmbeddings);
    }

    @Override
    public Tensor gather(Tensor x, int dim, Tensor idx) {
        return CpuIndex.gather(x, dim, idx);
    }

    @Override
    public Tensor scatterAdd(int[] xShape, int dim, Tensor idx, Tensor src) {
        return CpuIndex.scatterAdd(xShape, dim, idx, src);
    }

    @Override
    public Tensor dropoutMask(int[] shape, float p, Generator gen) {
        return CpuIndex.dropoutMask(shape, p, gen);
    }

    // ------------------------------------------------------------------ fused ops

    @Override
    public Tensor[] lfqQuantize(Tensor z, int[] groupBits) {
        return CpuLfq.quantize(z, groupBits);
    }

    @Override
    public Tensor[] lfqEntropy(Tensor z, float temperature) {
        return CpuLfq.entropy(z, temperature);
    }

    @Override
    public Tensor lfqEntropyBackward(Tensor z, Tensor avgProbs, float temperature, float dPerSample, float dCodebook) {
        return CpuLfq.entropyBackward(z, avgProbs, temperature, dPerSample, dCodebook);
    }

    @Override
    public Tensor rope(Tensor x, Tensor cos, Tensor sin, boolean inverse) {
        return CpuRope.rope(x, cos, sin, inverse);
    }

    @Override
    public Tensor[] attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        return CpuAttention.forward(q, k, v, mask, causal, scale);
    }

    @Override
    public Tensor[] attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor logsumexp, Tensor dout, Tensor mask, boolean causal, float scale) {
        return CpuAttention.backward(q, k, v, out, logsumexp, dout, mask, causal, scale);
    }

    @Override
    public Tensor swiglu(Tensor a, Tensor b) {
        return CpuSwiglu.forward(a, b);
    }

    @Override
    public Tensor[] swigluBackward(Tensor a, Tensor b, Tensor dout) {
        return CpuSwiglu.backward(a, b, dout);
    }

    @Override
    public Tensor depthToSpace(Tensor x, int block, boolean inverse) {
        return CpuDepthToSpace.apply(x, block, inverse);
    }

    // ------------------------------------------------------------------ optimiser

    @Override
    public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                         float weightDecay, boolean decoupled, long step) {
        CpuAdam.step(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }
}
