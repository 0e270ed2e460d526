package dev.magvit4j.tensor;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.autograd.Node;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.ops.Arithmetic;
import dev.magvit4j.backend.Backend.UnaryOp;
import dev.magvit4j.ops.LinearAlgebra;
import dev.magvit4j.ops.Reductions;
import dev.magvit4j.ops.Softmax;
import dev.magvit4j.ops.Views;

import java.util.Arrays;

/**
 * An n-dimensional array: a view (shape, strides, offset) into a {@link Storage}, plus the
 * autograd state (whether it needs a gradient, the gradient, the node that produced it).
 *
 * <p>Views (reshape, permute, transpose, slice, expand, select) share storage with their source
 * and cost no copy when the strides allow it; {@link #contiguous()} copies only when needed.
 *
 * <pre>{@code
 * Tensor x = Tensor.randn(new Generator(0), 2, 3).requiresGrad(true);
 * Tensor y = x.mul(x).sum();
 * y.backward();            // x.grad() == 2 * x
 * }</pre>
 */
public final class Tensor {

    // Not final only for setData (moving a leaf to another device in place).
    private Storage storage;
    private final int[] shape;
    private int[] strides;
    private int offset;

    private boolean requiresGrad;
    private boolean retainsGrad;
    private Tensor grad;
    private Node gradFn;

    public Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        if (shape.length != strides.length) {
            throw new IllegalArgumentException("shape " + Shape.str(shape) + " and strides " + Shape.str(strides) + " differ in rank");
        }
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---------------------------------------------------------------- factories (CPU)

    public static Tensor empty(DType dtype, int... shape) {
        return Backends.cpu().empty(dtype, shape);
    }

    public static Tensor zeros(int... shape) {
        return full(0f, shape);
    }

    public static Tensor zeros(DType dtype, int... shape) {
        Tensor t = empty(dtype, shape);
        t.backend().fill(t, 0);
        return t;
    }

    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    public static Tensor full(float value, int... shape) {
        Tensor t = empty(DType.FLOAT32, shape);
        t.backend().fill(t, value);
        return t;
    }

    /** Wraps a float array (no copy) as a tensor of the given shape; no shape means 1-D. */
    public static Tensor of(float[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape;
        checkLength(data.length, s);
        return Backends.cpu().wrap(data, s);
    }

    /** A 0-dimensional float tensor. */
    public static Tensor scalar(float value) {
        return Backends.cpu().wrap(new float[] {value}, new int[0]);
    }

    public static Tensor ofLongs(long[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape;
        checkLength(data.length, s);
        return Backends.cpu().wrap(data, s);
    }

    public static Tensor ofInts(int[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape;
        checkLength(data.length, s);
        return Backends.cpu().wrap(data, s);
    }

    public static Tensor ofBools(boolean[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape;
        checkLength(data.length, s);
        byte[] b = new byte[data.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (data[i] ? 1 : 0);
        return Backends.cpu().wrap(b, s);
    }

    /** Standard normal samples. */
    public static Tensor randn(Generator gen, int... shape) {
        Tensor t = empty(DType.FLOAT32, shape);
        t.backend().fillRandom(t, Backend.Distribution.NORMAL, 0, 1, gen);
        return t;
    }

    /** Uniform samples in [0, 1). */
    public static Tensor rand(Generator gen, int... shape) {
        return uniform(gen, 0, 1, shape);
    }

    public static Tensor uniform(Generator gen, double low, double high, int... shape) {
        Tensor t = empty(DType.FLOAT32, shape);
        t.backend().fillRandom(t, Backend.Distribution.UNIFORM, low, high, gen);
        return t;
    }

    /** 0, 1, ..., n-1 as float32. */
    public static Tensor arange(int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = i;
        return of(d, n);
    }

    private static void checkLength(int length, int[] shape) {
        if (Shape.numel(shape) != length) {
            throw new IllegalArgumentException(length + " values do not fill shape " + Shape.str(shape) + " (" + Shape.numel(shape) + " elements)");
        }
    }

    // ---------------------------------------------------------------- geometry

    public int[] shape() {
        return shape.clone();
    }

    /** Size of one dimension; negative counts from the end. */
    public int size(int dim) {
        return shape[Shape.dim(dim, shape.length)];
    }

    public int dim() {
        return shape.length;
    }

    public int numel() {
        return Shape.numel(shape);
    }

    public int[] strides() {
        return strides.clone();
    }

    public int stride(int dim) {
        return strides[Shape.dim(dim, shape.length)];
    }

    public int offset() {
        return offset;
    }

    public Storage storage() {
        return storage;
    }

    public DType dtype() {
        return storage.dtype();
    }

    public Device device() {
        return storage.device();
    }

    public Backend backend() {
        return storage.backend();
    }

    /** Row-major contiguous, ignoring strides of size-1 dimensions. */
    public boolean isContiguous() {
        int expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** Shape as the internal array; callers must not modify it. */
    public int[] shapeRef() {
        return shape;
    }

    /** Strides as the internal array; callers must not modify it. */
    public int[] stridesRef() {
        return strides;
    }

    // ---------------------------------------------------------------- autograd state

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf tensor as a parameter-like input whose gradient is accumulated by backward. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value) {
            throw new IllegalStateException("cannot clear requiresGrad on a non-leaf tensor; use detach()");
        }
        if (value && !dtype().isFloating()) {
            throw new IllegalArgumentException("only float tensors can require gradients, this one is " + dtype());
        }
        this.requiresGrad = value;
        return this;
    }

    public boolean isLeaf() {
        return gradFn == null;
    }

    public Node gradFn() {
        return gradFn;
    }

    /** Attaches the node that produced this tensor (used by {@link Autograd}). */
    public void setGradFn(Node node) {
        this.gradFn = node;
        this.requiresGrad = true;
    }

    /** The accumulated gradient, or null before any backward reached this tensor. */
    public Tensor grad() {
        return grad;
    }

    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape, shape)) {
            throw new IllegalArgumentException("gradient of shape " + Shape.str(g.shape) + " for a tensor of shape " + Shape.str(shape));
        }
        this.grad = g;
    }

    public void zeroGrad() {
        this.grad = null;
    }

    /** Keep the gradient of a non-leaf tensor after backward (leaves always keep theirs). */
    public Tensor retainGrad() {
        this.retainsGrad = true;
        return this;
    }

    public boolean retainsGrad() {
        return retainsGrad || isLeaf();
    }

    /** Backward from a scalar (one-element) tensor. */
    public void backward() {
        Autograd.backward(this, null, false);
    }

    /** Backward with an explicit upstream gradient of this tensor's shape. */
    public void backward(Tensor gradient) {
        Autograd.backward(this, gradient, false);
    }

    /** A tensor sharing this one's data but cut from the graph. */
    public Tensor detach() {
        return new Tensor(storage, shape, strides, offset);
    }

    // ---------------------------------------------------------------- data access

    /** The value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item() needs a one-element tensor, this one has shape " + Shape.str(shape));
        return toFloatArray()[0];
    }

    /** A copy of the elements in row-major order, as floats (integers are converted). */
    public float[] toFloatArray() {
        return Backends.cpu().toFloatArray(toCpu());
    }

    public long[] toLongArray() {
        return Backends.cpu().toLongArray(toCpu());
    }

    public int[] toIntArray() {
        long[] l = toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) out[i] = Math.toIntExact(l[i]);
        return out;
    }

    /** The element at an index, as a float. */
    public float get(int... index) {
        Tensor host = toCpu();
        return Backends.cpu().get(host, host.flatOffset(index));
    }

    private int flatOffset(int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " for a tensor of shape " + Shape.str(shape));
        }
        int o = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " out of range for shape " + Shape.str(shape));
            }
            o += index[i] * strides[i];
        }
        return o;
    }

    /** This tensor on the CPU (itself when already there). */
    public Tensor toCpu() {
        return to(Device.CPU);
    }

    /**
     * Replaces this leaf's contents by {@code source}'s (same shape and dtype; any device),
     * keeping its identity, so the modules and optimisers that hold it follow it. This is how
     * {@code Module.to(device)} moves parameters; its gradient, if any, moves with it.
     */
    public void setData(Tensor source) {
        if (gradFn != null) throw new IllegalStateException("setData on a non-leaf tensor (produced by " + gradFn.name() + ")");
        if (!Arrays.equals(shape, source.shape) || source.dtype() != dtype()) {
            throw new IllegalArgumentException("setData: source " + source.dtype() + Shape.str(source.shape) + " does not match " + dtype() + Shape.str(shape));
        }
        Tensor grad0 = grad;
        this.storage = source.storage;
        this.strides = source.strides.clone();
        this.offset = source.offset;
        if (grad0 != null) grad = grad0.detach().to(source.device());
    }

    /** This tensor on a device; gradients flow back across the copy. */
    public Tensor to(Device device) {
        if (device.equals(device())) return this;
        return Views.toDevice(this, device);
    }

    // ---------------------------------------------------------------- arithmetic (see ops.Arithmetic)

    public Tensor add(Tensor o) { return Arithmetic.add(this, o); }
    public Tensor sub(Tensor o) { return Arithmetic.sub(this, o); }
    public Tensor mul(Tensor o) { return Arithmetic.mul(this, o); }
    public Tensor div(Tensor o) { return Arithmetic.div(this, o); }
    public Tensor maximum(Tensor o) { return Arithmetic.maximum(this, o); }
    public Tensor minimum(Tensor o) { return Arithmetic.minimum(this, o); }
    public Tensor add(float s) { return Arithmetic.affine(this, 1f, s); }
    public Tensor sub(float s) { return Arithmetic.affine(this, 1f, -s); }
    public Tensor mul(float s) { return Arithmetic.affine(this, s, 0f); }
    public Tensor div(float s) { return Arithmetic.affine(this, 1f / s, 0f); }
    public Tensor neg() { return Arithmetic.affine(this, -1f, 0f); }

    public Tensor exp() { return Arithmetic.unary(UnaryOp.EXP, this); }
    public Tensor log() { return Arithmetic.unary(UnaryOp.LOG, this); }
    public Tensor sqrt() { return Arithmetic.unary(UnaryOp.SQRT, this); }
    public Tensor rsqrt() { return Arithmetic.unary(UnaryOp.RSQRT, this); }
    public Tensor abs() { return Arithmetic.unary(UnaryOp.ABS, this); }
    public Tensor square() { return Arithmetic.unary(UnaryOp.SQUARE, this); }
    public Tensor pow(float exponent) { return Arithmetic.unary(UnaryOp.POW, this, exponent); }
    public Tensor relu() { return Arithmetic.unary(UnaryOp.RELU, this); }
    public Tensor leakyRelu(float slope) { return Arithmetic.unary(UnaryOp.LEAKY_RELU, this, slope); }
    public Tensor sigmoid() { return Arithmetic.unary(UnaryOp.SIGMOID, this); }
    public Tensor silu() { return Arithmetic.unary(UnaryOp.SILU, this); }
    public Tensor softplus() { return Arithmetic.unary(UnaryOp.SOFTPLUS, this); }
    public Tensor gelu() { return Arithmetic.unary(UnaryOp.GELU_TANH, this); }
    public Tensor tanh() { return Arithmetic.unary(UnaryOp.TANH, this); }

    public Tensor matmul(Tensor o) { return LinearAlgebra.matmul(this, o); }

    // ---------------------------------------------------------------- reductions (see ops.Reductions)

    /** Sum over the given dimensions (all when none are given). */
    public Tensor sum(int... dims) { return Reductions.sum(this, dims, false); }
    public Tensor sumKeepDim(int... dims) { return Reductions.sum(this, dims, true); }
    public Tensor mean(int... dims) { return Reductions.mean(this, dims, false); }
    public Tensor meanKeepDim(int... dims) { return Reductions.mean(this, dims, true); }
    /** Variance; unbiased divides by n-1 (PyTorch's default), biased by n. */
    public Tensor var(boolean unbiased, int... dims) { return Reductions.var(this, dims, unbiased, false); }
    public Tensor max(int... dims) { return Reductions.max(this, dims, false); }
    public Tensor min(int... dims) { return Reductions.min(this, dims, false); }
    /** Index of the maximum along one dimension, as int64. */
    public Tensor argmax(int dim) { return Reductions.argmax(this, dim, false); }

    public Tensor softmax(int dim) { return Softmax.softmax(this, dim); }
    public Tensor logSoftmax(int dim) { return Softmax.logSoftmax(this, dim); }

    // ---------------------------------------------------------------- views (see ops.Views)

    public Tensor reshape(int... newShape) { return Views.reshape(this, newShape); }
    /** Like reshape, but refuses to copy. */
    public Tensor view(int... newShape) { return Views.view(this, newShape); }
    public Tensor flatten() { return Views.reshape(this, numel()); }
    public Tensor permute(int... order) { return Views.permute(this, order); }
    public Tensor transpose(int dim0, int dim1) { return Views.transpose(this, dim0, dim1); }
    /** Transpose of the last two dimensions. */
    public Tensor mT() { return Views.transpose(this, -2, -1); }
    /** Elements start, start+step, ... below end along one dimension. */
    public Tensor slice(int dim, int start, int end, int step) { return Views.slice(this, dim, start, end, step); }
    public Tensor slice(int dim, int start, int end) { return Views.slice(this, dim, start, end, 1); }
    /** One index along a dimension, which is removed. */
    public Tensor select(int dim, int index) { return Views.select(this, dim, index); }
    public Tensor expand(int... newShape) { return Views.expand(this, newShape); }
    public Tensor unsqueeze(int dim) { return Views.unsqueeze(this, dim); }
    public Tensor squeeze(int dim) { return Views.squeeze(this, dim); }
    /** This tensor when already contiguous, else a contiguous copy. */
    public Tensor contiguous() { return Views.contiguous(this); }
    /** A contiguous copy that never shares storage. */
    public Tensor copy() { return Views.copy(this); }

    // ---------------------------------------------------------------- printing

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Shape.str(shape)).append(' ').append(dtype());
        if (!device().isCpu()) sb.append(' ').append(device());
        if (gradFn != null) sb.append(" grad_fn=").append(gradFn.name());
        else if (requiresGrad) sb.append(" requires_grad");
        sb.append('\n');
        Tensor host = detach().toCpu();
        float[] values = dtype().isFloating() || numel() <= 1_000_000 ? host.toFloatArray() : null;
        if (values == null) return sb.append("(").append(numel()).append(" elements)").toString();
        format(sb, values, 0, 0, dtype().isFloating());
        return sb.toString();
    }

    private static final int EDGE = 3;

    private int format(StringBuilder sb, float[] v, int dim, int pos, boolean floating) {
        if (shape.length == 0) {
            sb.append(num(v[0], floating));
            return 1;
        }
        int n = shape[dim];
        int inner = 1;
        for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
        sb.append('[');
        boolean cut = n > 2 * EDGE + 1;
        for (int i = 0; i < n; i++) {
            if (cut && i == EDGE) {
                sb.append(dim == shape.length - 1 ? "..., " : "...,\n" + " ".repeat(dim + 1));
                i = n - EDGE - 1;
                continue;
            }
            int at = pos + i * inner;
            if (dim == shape.length - 1) sb.append(num(v[at], floating));
            else format(sb, v, dim + 1, at, floating);
            if (i < n - 1) sb.append(dim == shape.length - 1 ? ", " : ",\n" + " ".repeat(dim + 1));
        }
        sb.append(']');
        return n;
    }

    private static String num(float x, boolean floating) {
        if (!floating) return Long.toString((long) x);
        return String.format(java.util.Locale.ROOT, "%.4f", x);
    }
}
