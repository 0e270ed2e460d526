package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Operations that change only the geometry (shape, strides, offset) of a tensor, sharing its
 * storage, plus the copies that build new tensors out of pieces: contiguous, concat, stack.
 */
public final class Views {

    private Views() {}

    private static Tensor as(Tensor x, int[] shape, int[] strides, int offset) {
        return new Tensor(x.storage(), shape, strides, offset);
    }

    public static Tensor reshape(Tensor x, int... shape) {
        int[] target = Shape.infer(shape, x.numel());
        int[] strides = viewStrides(x, target);
        Tensor out = strides != null ? as(x, target, strides, x.offset()) : as(copyRaw(x), target, Shape.contiguousStrides(target), 0);
        int[] original = x.shape();
        return Autograd.record(out, "reshape", g -> new Tensor[] {reshape(g, original)}, x);
    }

    public static Tensor view(Tensor x, int... shape) {
        int[] target = Shape.infer(shape, x.numel());
        int[] strides = viewStrides(x, target);
        if (strides == null) {
            throw new IllegalArgumentException("view of shape " + Shape.str(x.shapeRef()) + " with strides " + Shape.str(x.stridesRef()) + " as " + Shape.str(target) + " needs a copy; use reshape()");
        }
        int[] original = x.shape();
        return Autograd.record(as(x, target, strides, x.offset()), "view", g -> new Tensor[] {reshape(g, original)}, x);
    }

    /**
     * Strides that show x's elements in row-major order under a new shape without copying, or
     * null when none exist (PyTorch's rule: each run of merged old dims must be contiguous).
     */
    static int[] viewStrides(Tensor x, int[] target) {
        int[] os = x.shapeRef(), ost = x.stridesRef();
        if (x.isContiguous()) return Shape.contiguousStrides(target);
        if (x.numel() == 0) return Shape.contiguousStrides(target);
        int[] ns = new int[target.length];
        int viewD = target.length - 1;
        long chunkBase = ost.length == 0 ? 1 : ost[ost.length - 1];
        long tensorNumel = 1, viewNumel = 1;
        for (int d = os.length - 1; d >= 0; d--) {
            tensorNumel *= os[d];
            if (d == 0 || (os[d - 1] != 1 && ost[d - 1] != tensorNumel * chunkBase)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] == 1)) {
                    ns[viewD] = (int) (viewNumel * chunkBase);
                    viewNumel *= target[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) {
                    chunkBase = ost[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? ns : null;
    }

    public static Tensor permute(Tensor x, int... order) {
        int rank = x.dim();
        if (order.length != rank) {
            throw new IllegalArgumentException("permute order " + Arrays.toString(order) + " for a tensor of rank " + rank);
        }
        int[] shape = new int[rank], strides = new int[rank], inverse = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            int d = Shape.dim(order[i], rank);
            if (seen[d]) throw new IllegalArgumentException("permute order " + Arrays.toString(order) + " repeats dimension " + d);
            seen[d] = true;
            shape[i] = x.shapeRef()[d];
            strides[i] = x.stridesRef()[d];
            inverse[d] = i;
        }
        return Autograd.record(as(x, shape, strides, x.offset()), "permute", g -> new Tensor[] {permute(g, inverse)}, x);
    }

    public static Tensor transpose(Tensor x, int dim0, int dim1) {
        int rank = x.dim(), a = Shape.dim(dim0, rank), b = Shape.dim(dim1, rank);
        int[] order = new int[rank];
        for (int i = 0; i < rank; i++) order[i] = i;
        order[a] = b;
        order[b] = a;
        return permute(x, order);
    }

    /** Python-style slice [start:end:step] along dim; negative start/end count from the end and are clamped. */
    public static Tensor slice(Tensor x, int dim, int start, int end, int step) {
        int d = Shape.dim(dim, x.dim()), n = x.shapeRef()[d];
        if (step < 1) throw new IllegalArgumentException("slice step must be >= 1, got " + step);
        int s = Math.clamp(start < 0 ? start + n : start, 0, n), e = Math.clamp(end < 0 ? end + n : end, 0, n);
        int len = e > s ? (e - s + step - 1) / step : 0;
        int[] shape = x.shape(), strides = x.strides();
        shape[d] = len;
        strides[d] *= step;
        Tensor out = as(x, shape, strides, x.offset() + s * x.stridesRef()[d]);
        int[] xs = x.shape();
        return Autograd.record(out, "slice", g -> new Tensor[] {embed(g, xs, t -> slice(t, d, s, e, step))}, x);
    }

    public static Tensor select(Tensor x, int dim, int index) {
        int d = Shape.dim(dim, x.dim()), n = x.shapeRef()[d];
        int i = index < 0 ? index + n : index;
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("index " + index + " out of range for dimension " + d + " of size " + n + " in shape " + Shape.str(x.shapeRef()));
        }
        int[] shape = new int[x.dim() - 1], strides = new int[x.dim() - 1];
        for (int k = 0, j = 0; k < x.dim(); k++) {
            if (k == d) continue;
            shape[j] = x.shapeRef()[k];
            strides[j++] = x.stridesRef()[k];
        }
        Tensor out = as(x, shape, strides, x.offset() + i * x.stridesRef()[d]);
        int[] xs = x.shape();
        return Autograd.record(out, "select", g -> new Tensor[] {embed(g, xs, t -> select(t, d, i))}, x);
    }

    /** Zeros of a shape with g written into the part that {@code region} selects: the gradient of a slice. */
    private static Tensor embed(Tensor g, int[] shape, java.util.function.UnaryOperator<Tensor> region) {
        Backend be = g.backend();
        Tensor z = be.empty(g.dtype(), shape);
        be.fill(z, 0);
        be.copy(g, region.apply(z));
        return z;
    }

    /** Broadcasts size-1 dims (and new leading dims) to a shape; -1 keeps a dim. Stride 0, no copy. */
    public static Tensor expand(Tensor x, int... shape) {
        int rank = shape.length, lead = rank - x.dim();
        if (lead < 0) throw new IllegalArgumentException("cannot expand shape " + Shape.str(x.shapeRef()) + " to fewer dimensions " + Shape.str(shape));
        int[] outShape = new int[rank], strides = new int[rank];
        for (int i = 0; i < rank; i++) {
            int own = i < lead ? 1 : x.shapeRef()[i - lead];
            int want = shape[i] == -1 ? own : shape[i];
            if (i < lead && shape[i] == -1) throw new IllegalArgumentException("expand: -1 is not allowed for a new leading dimension in " + Shape.str(shape));
            if (own != want && own != 1) {
                throw new IllegalArgumentException("cannot expand shape " + Shape.str(x.shapeRef()) + " to " + Shape.str(shape) + " (dimension " + i + ": " + own + " vs " + want + ")");
            }
            outShape[i] = want;
            strides[i] = i < lead || own != want ? 0 : x.stridesRef()[i - lead];
        }
        int[] xs = x.shape();
        return Autograd.record(as(x, outShape, strides, x.offset()), "expand", g -> new Tensor[] {Arithmetic.sumTo(g, xs)}, x);
    }

    public static Tensor unsqueeze(Tensor x, int dim) {
        int rank = x.dim(), d = dim < 0 ? dim + rank + 1 : dim;
        if (d < 0 || d > rank) throw new IllegalArgumentException("unsqueeze dimension " + dim + " out of range for rank " + rank);
        int[] shape = new int[rank + 1], strides = new int[rank + 1];
        for (int i = 0, j = 0; i <= rank; i++) {
            if (i == d) {
                shape[i] = 1;
                strides[i] = d < rank ? x.stridesRef()[d] * x.shapeRef()[d] : 1;
            } else {
                shape[i] = x.shapeRef()[j];
                strides[i] = x.stridesRef()[j++];
            }
        }
        int[] xs = x.shape();
        return Autograd.record(as(x, shape, strides, x.offset()), "unsqueeze", g -> new Tensor[] {reshape(g, xs)}, x);
    }

    /** Removes dim when its size is 1; otherwise returns x unchanged (PyTorch's rule). */
    public static Tensor squeeze(Tensor x, int dim) {
        int d = Shape.dim(dim, x.dim());
        if (x.shapeRef()[d] != 1) return x;
        return select(x, d, 0);
    }

    public static Tensor contiguous(Tensor x) {
        if (x.isContiguous()) return x;
        return copy(x);
    }

    public static Tensor copy(Tensor x) {
        return Autograd.record(copyRaw(x), "copy", g -> new Tensor[] {g}, x);
    }

    private static Tensor copyRaw(Tensor x) {
        Tensor out = x.backend().empty(x.dtype(), x.shapeRef());
        x.backend().copy(x, out);
        return out;
    }

    public static Tensor toDevice(Tensor x, Device device) {
        Device from = x.device();
        Tensor out = Backends.of(device).transfer(x);
        return Autograd.record(out, "to_" + device, g -> new Tensor[] {g.to(from)}, x);
    }

    /** Joins tensors along an existing dim; all other dims must match. */
    public static Tensor concat(List<Tensor> parts, int dim) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat of no tensors");
        Tensor first = parts.get(0);
        int d = Shape.dim(dim, first.dim());
        int[] shape = first.shape();
        int total = 0;
        for (Tensor t : parts) {
            if (t.dim() != first.dim()) throw new IllegalArgumentException("concat of tensors with ranks " + first.dim() + " and " + t.dim());
            for (int i = 0; i < shape.length; i++) {
                if (i != d && t.shapeRef()[i] != shape[i]) {
                    throw new IllegalArgumentException("concat along " + d + " of shapes " + Shape.str(first.shapeRef()) + " and " + Shape.str(t.shapeRef()) + ": dimension " + i + " differs");
                }
            }
            if (t.dtype() != first.dtype()) throw new IllegalArgumentException("concat of " + first.dtype() + " and " + t.dtype() + " tensors");
            total += t.shapeRef()[d];
        }
        shape[d] = total;
        Backend be = Backends.of(parts.toArray(new Tensor[0]));
        Tensor out = be.empty(first.dtype(), shape);
        int[] starts = new int[parts.size()];
        for (int i = 0, at = 0; i < parts.size(); i++) {
            Tensor t = parts.get(i);
            starts[i] = at;
            be.copy(t, out.detach().slice(d, at, at + t.shapeRef()[d], 1));
            at += t.shapeRef()[d];
        }
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        return Autograd.record(out, "concat", g -> {
            Tensor[] grads = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) grads[i] = slice(g, d, starts[i], starts[i] + inputs[i].shapeRef()[d], 1);
            return grads;
        }, inputs);
    }

    /** Joins tensors of one shape along a new dim. */
    public static Tensor stack(List<Tensor> parts, int dim) {
        if (parts.isEmpty()) throw new IllegalArgumentException("stack of no tensors");
        int d = dim < 0 ? dim + parts.get(0).dim() + 1 : dim;
        List<Tensor> expanded = new ArrayList<>();
        for (Tensor t : parts) {
            if (!Arrays.equals(t.shapeRef(), parts.get(0).shapeRef())) {
                throw new IllegalArgumentException("stack of shapes " + Shape.str(parts.get(0).shapeRef()) + " and " + Shape.str(t.shapeRef()));
            }
            expanded.add(unsqueeze(t, d));
        }
        return concat(expanded, d);
    }

    /** Splits along dim into pieces of the given sizes (views, no copy). */
    public static List<Tensor> split(Tensor x, int dim, int... sizes) {
        int d = Shape.dim(dim, x.dim()), sum = 0;
        for (int s : sizes) sum += s;
        if (sum != x.shapeRef()[d]) {
            throw new IllegalArgumentException("split sizes " + Arrays.toString(sizes) + " add up to " + sum + " but dimension " + d + " of " + Shape.str(x.shapeRef()) + " is " + x.shapeRef()[d]);
        }
        List<Tensor> out = new ArrayList<>();
        for (int i = 0, at = 0; i < sizes.length; at += sizes[i], i++) out.add(slice(x, d, at, at + sizes[i], 1));
        return out;
    }
}
