package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.List;

/**
 * The CUDA backend of one device. Like CpuBackend it only dispatches: each concept has its own
 * file here (CudaConv, CudaNorm, CudaMatmul, ...) beside its CPU twin in backend/cpu, and its
 * kernels in kernels/NAME.cu.
 *
 * <p>Random numbers are drawn on the CPU from the same {@link Generator} stream and uploaded,
 * so a seed gives the same weights, noise and dropout masks on every device.
 */
public final class CudaBackend implements Backend {

    final CudaDevice device;
    private final Device id;

    public CudaBackend(CudaDevice device) {
        this.device = device;
        this.id = Device.cuda(device.index);
    }

    public CudaDevice cudaDevice() {
        return device;
    }

    @Override
    public Device device() {
        return id;
    }

    // ------------------------------------------------------------------ memory

    @Override
    public Tensor empty(DType dtype, int... shape) {
        int[] s = shape.clone();
        return new Tensor(new CudaStorage(this, dtype, Shape.numel(s)), s, Shape.contiguousStrides(s), 0);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CudaCopy.copy(this, src, dst);
    }

    @Override
    public void fill(Tensor dst, double value) {
        CudaCopy.fill(this, dst, value);
    }

    @Override
    public void fillRandom(Tensor dst, Distribution dist, double a, double b, Generator gen) {
        Tensor host = Backends.cpu().empty(DType.FLOAT32, dst.shapeRef());
        Backends.cpu().fillRandom(host, dist, a, b, gen);
        CudaCopy.copy(this, host, dst);
    }

    @Override
    public Tensor transfer(Tensor src) {
        if (src.device().equals(id)) {
            Tensor out = empty(src.dtype(), src.shapeRef());
            CudaCopy.copy(this, src, out);
            return out;
        }
        Tensor host = src.device().isCpu() ? src : src.backend().toCpu(src);
        return CudaCopy.upload(this, host, src.dtype());
    }

    @Override
    public Tensor toCpu(Tensor src) {
        return CudaCopy.download(this, src);
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public Tensor unary(UnaryOp op, float alpha, Tensor x) {
        return CudaElementwise.unary(this, op, alpha, x);
    }

    @Override
    public Tensor unaryBackward(UnaryOp op, float alpha, Tensor x, Tensor y, Tensor dy) {
        return CudaElementwise.unaryBackward(this, op, alpha, x, y, dy);
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        return CudaElementwise.binary(this, op, a, b);
    }

    @Override
    public Tensor affine(Tensor x, float scale, float shift) {
        return CudaElementwise.affine(this, x, scale, shift);
    }

    @Override
    public void axpby(float a, Tensor x, float b, Tensor y) {
        CudaElementwise.axpby(this, a, x, b, y);
    }

    @Override
    public void axpbys(float a, List<Tensor> xs, float b, List<Tensor> ys) {
        CudaElementwise.axpbys(this, a, xs, b, ys);
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        return CudaReduce.reduce(this, op, x, dims, keepDim);
    }

    @Override
    public Tensor sumOfSquares(List<Tensor> xs) {
        return CudaReduce.sumOfSquares(this, xs);
    }

    @Override
    public Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim) {
        return CudaReduce.variance(this, x, dims, correction, keepDim);
    }

    @Override
    public Tensor argmax(Tensor x, int dim, boolean keepDim) {
        return CudaReduce.argmax(this, x, dim, keepDim);
    }

    // ------------------------------------------------------------------ linear algebra

    @Override
    public Tensor matmul(Tensor a, Tensor b, Tensor bias) {
        return CudaMatmul.matmul(this, a, b, bias);
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW) {
        return CudaConv.forward(this, x, weight, bias, strideH, strideW, padH, padW);
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor weight, int[] inputShape, int strideH, int strideW, int padH, int padW) {
        return CudaConv.backwardInput(this, dy, weight, inputShape, strideH, strideW, padH, padW);
    }

    @Override
    public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, int[] weightShape, int strideH, int strideW, int padH, int padW) {
        return CudaConv.backwardWeight(this, dy, x, weightShape, strideH, strideW, padH, padW);
    }

    @Override
    public Tensor[] maxPool2d(Tensor x, int kernel, int stride) {
        return CudaPool.maxPool2d(this, x, kernel, stride);
    }

    @Override
    public Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape) {
        return CudaPool.maxPool2dBackward(this, dy, argmax, xShape);
    }

    // ------------------------------------------------------------------ normalisation

    @Override
    public Tensor[] groupNorm(Tensor x, int groups, float eps, Tensor scale, Tensor shift, boolean silu) {
        return CudaNorm.groupNorm(this, x, groups, eps, scale, shift, silu);
    }

    @Override
    public Tensor[] groupNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor rstd, int groups, Tensor scale, Tensor shift, boolean silu) {
        return CudaNorm.groupNormBackward(this, dy, x, mean, rstd, groups, scale, shift, silu);
    }

    @Override
    public Tensor[] rmsNorm(Tensor x, Tensor weight, float eps) {
        return CudaNorm.rmsNorm(this, x, weight, eps);
    }

    @Override
    public Tensor[] rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd) {
        return CudaNorm.rmsNormBackward(this, dy, x, weight, rstd);
    }

    // ------------------------------------------------------------------ softmax and losses

    @Override
    public Tensor softmax(Tensor x, boolean log) {
        return CudaSoftmax.softmax(this, x, log);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy, boolean log) {
        return CudaSoftmax.softmaxBackward(this, y, dy, log);
    }

    @Override
    public Tensor[] crossEntropy(Tensor logits, Tensor targets, long ignoreIndex) {
        return CudaSoftmax.crossEntropy(this, logits, targets, ignoreIndex);
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor logsumexp, Tensor dloss, long ignoreIndex) {
        return CudaSoftmax.crossEntropyBackward(this, logits, targets, logsumexp, dloss, ignoreIndex);
    }

    // ------------------------------------------------------------------ indexing

    @Override
    public Tensor embedding(Tensor weight, Tensor idx) {
        return CudaIndex.embedding(this, weight, idx);
    }

    @Override
    public Tensor embeddingBackward(Tensor dy, Tensor idx, int numEmbeddings) {
        return CudaIndex.embeddingBackward(this, dy, idx, numEmbeddings);
    }

    @Override
    public Tensor gather(Tensor x, int dim, Tensor idx) {
        return CudaIndex.gather(this, x, dim, idx);
    }

    @Override
    public Tensor scatterAdd(int[] xShape, int dim, Tensor idx, Tensor src) {
        return CudaIndex.scatterAdd(this, xShape, dim, idx, src);
    }

    @Override
    public Tensor dropoutMask(int[] shape, float p, Generator gen) {
        // Drawn on the CPU so a seed gives the same mask on every device.
        return transfer(Backends.cpu().dropoutMask(shape, p, gen));
    }

    // ------------------------------------------------------------------ fused ops

    @Override
    public Tensor[] lfqQuantize(Tensor z, int[] groupBits) {
        return CudaLfq.quantize(this, z, groupBits);
    }

    @Override
    public Tensor[] lfqEntropy(Tensor z, float temperature) {
        return CudaLfq.entropy(this, z, temperature);
    }

    @Override
    public Tensor lfqEntropyBackward(Tensor z, Tensor avgProbs, float temperature, float dPerSample, float dCodebook) {
        return CudaLfq.entropyBackward(this, z, avgProbs, temperature, dPerSample, dCodebook);
    }

    @Override
    public Tensor rope(Tensor x, Tensor cos, Tensor sin, boolean inverse) {
        return CudaRope.rope(this, x, cos, sin, inverse);
    }

    @Override
    public Tensor[] attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        return CudaAttention.forward(this, q, k, v, mask, causal, scale);
    }

    @Override
    public Tensor[] attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor logsumexp, Tensor dout, Tensor mask, boolean causal, float scale) {
        return CudaAttention.backward(this, q, k, v, out, logsumexp, dout, mask, causal, scale);
    }

    @Override
    public Tensor swiglu(Tensor a, Tensor b) {
        return CudaSwiglu.forward(this, a, b);
    }

    @Override
    public Tensor[] swigluBackward(Tensor a, Tensor b, Tensor dout) {
        return CudaSwiglu.backward(this, a, b, dout);
    }

    @Override
    public Tensor depthToSpace(Tensor x, int block, boolean inverse) {
        return CudaDepthToSpace.apply(this, x, block, inverse);
    }

    // ------------------------------------------------------------------ optimiser

    @Override
    public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                         float weightDecay, boolean decoupled, long step) {
        CudaAdam.step(this, param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }

    @Override
    public void adamSteps(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float lr, float beta1, float beta2, float eps,
                          float weightDecay, boolean decoupled, long step) {
        CudaAdam.steps(this, params, grads, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }
}
