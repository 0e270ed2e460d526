package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.List;

/** What the kernel wrappers share: device addresses, the Layout struct, grid sizes. */
final class CudaTensors {

    private CudaTensors() {}

    /** Kernels' Layout struct (common.cuh): rank, offset, shape[8], stride[8]. */
    static final int MAX_DIMS = 8;
    static final int THREADS = 256;

    static CudaStorage storage(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("expected a tensor on a CUDA device, got one on " + t.device());
        }
        return s;
    }

    /** The address of the tensor's first element (storage base + offset). */
    static CudaPtr ptr(Tensor t) {
        if (t == null) return null;
        CudaStorage s = storage(t);
        return new CudaPtr(s.pointer.withByteOffset((long) t.offset() * t.dtype().bytes), t.dtype() + Shape.str(t.shapeRef()));
    }

    /** The address of the tensor's storage (its offset goes in its {@link #layout}). */
    static CudaPtr base(Tensor t) {
        CudaStorage s = storage(t);
        return new CudaPtr(s.pointer, t.dtype() + Shape.str(t.shapeRef()) + " storage");
    }

    /** Like {@link #ptr}, but a null tensor gives a null address (optional kernel inputs). */
    static CudaPtr ptrOrNull(Tensor t) {
        return t == null ? new CudaPtr(new jcuda.driver.CUdeviceptr(), "null") : ptr(t);
    }

    /** DType codes of common.cuh. */
    static int code(DType d) {
        return d.ordinal();
    }

    /** The Layout struct of a view, with adjacent dims merged where the strides allow. */
    static int[] layout(Tensor t) {
        return layout(t.shapeRef(), t.stridesRef(), t.offset());
    }

    /**
     * The Layout of t broadcast to outShape (NumPy rules: missing leading dims and size-1 dims
     * get stride 0), so a kernel indexes it by the output's linear index.
     */
    static int[] broadcastLayout(Tensor t, int[] outShape) {
        int r = outShape.length, tr = t.dim();
        int[] strides = new int[r];
        for (int i = 0; i < r; i++) {
            int ti = i - (r - tr);
            strides[i] = ti < 0 || t.shapeRef()[ti] == 1 ? 0 : t.stridesRef()[ti];
        }
        return layout(outShape, strides, t.offset());
    }

    static int[] layout(int[] shape, int[] strides, int offset) {
        // Merge dim i into i+1 when stepping through i is the same as through i+1 (stride[i] ==
        // shape[i+1] * stride[i+1]); drop size-1 dims. Most views collapse to one or two dims.
        int[] sh = new int[shape.length];
        int[] st = new int[shape.length];
        int n = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1) continue;
            if (n > 0 && st[n - 1] == shape[i] * strides[i]) {
                sh[n - 1] *= shape[i];
                st[n - 1] = strides[i];
            } else {
                sh[n] = shape[i];
                st[n] = strides[i];
                n++;
            }
        }
        if (n > MAX_DIMS) {
            throw new IllegalArgumentException("a view of shape " + Shape.str(shape) + " and strides " + Shape.str(strides)
                    + " has more than " + MAX_DIMS + " non-mergeable dims; call contiguous() first");
        }
        int[] l = new int[2 + 2 * MAX_DIMS];
        l[0] = n;
        l[1] = offset;
        for (int i = 0; i < MAX_DIMS; i++) {
            l[2 + i] = i < n ? sh[i] : 1;
            l[2 + MAX_DIMS + i] = i < n ? st[i] : 0;
        }
        return l;
    }

    /** Tensors per launch of a list kernel (packed.cuh's LIST_TENSORS). */
    static final int LIST_TENSORS = 64;

    /**
     * Launches a list kernel (packed.cuh's TensorList) over rows of up to four contiguous float32
     * tensors of one size each (the kernel's ptr[0..3]), LIST_TENSORS rows per launch, with the
     * scalar arguments after the list.
     */
    static void launchList(CudaBackend be, String module, String kernel, List<Tensor[]> rows, Object... scalars) {
        forEachList(be, rows, (list, blocks) -> be.device.launch(module, kernel, blocks, 1, 1, THREADS, 0, args(new Object[] {list}, scalars)));
    }

    /** One launch's TensorList (as a struct argument) and the blocks of its grid. */
    interface ListLaunch {
        void launch(int[] list, int blocks);
    }

    /**
     * Builds the TensorList of each LIST_TENSORS rows (see {@link #launchList}) and hands it, with
     * its grid's block count, to launch. Each row gets the blocks a single packed launch over its
     * tensors would, so a big tensor is not starved by the small ones beside it.
     */
    static void forEachList(CudaBackend be, List<Tensor[]> rows, ListLaunch launch) {
        for (int from = 0; from < rows.size(); from += LIST_TENSORS) {
            List<Tensor[]> chunk = rows.subList(from, Math.min(rows.size(), from + LIST_TENSORS));
            // struct TensorList { u64 ptr[4][L]; int n[L]; int start[L + 1]; }, padded to 8 bytes.
            int nAt = 8 * LIST_TENSORS, startAt = nAt + LIST_TENSORS;
            int[] list = new int[(startAt + LIST_TENSORS + 1 + 1) & ~1];
            int blocks = 0;
            for (int i = 0; i < chunk.size(); i++) {
                Tensor[] row = chunk.get(i);
                for (int k = 0; k < row.length; k++) {
                    long address = storage(row[k]).address() + (long) row[k].offset() * Float.BYTES;
                    list[2 * (k * LIST_TENSORS + i)] = (int) address;
                    list[2 * (k * LIST_TENSORS + i) + 1] = (int) (address >>> 32);
                }
                list[nAt + i] = row[0].numel();
                list[startAt + i] = blocks;
                blocks += CudaElementwise.packedBlocks(be, row[0].numel());
            }
            for (int i = chunk.size(); i <= LIST_TENSORS; i++) list[startAt + i] = blocks;
            launch.launch(list, blocks);
        }
    }

    /** The arguments of a launch: first, then rest. */
    static Object[] args(Object[] first, Object[] rest) {
        Object[] out = java.util.Arrays.copyOf(first, first.length + rest.length);
        System.arraycopy(rest, 0, out, first.length, rest.length);
        return out;
    }

    /** Blocks for a grid-stride loop over n elements: enough to fill the GPU, no more. */
    static int blocks(CudaBackend be, long n, int threads) {
        long need = (n + threads - 1) / threads;
        return (int) Math.max(1, Math.min(need, (long) be.device.multiprocessors * 32));
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** t itself when contiguous, else a contiguous copy on the same device. */
    static Tensor contiguous(Tensor t) {
        if (t == null || t.isContiguous()) return t;
        CudaBackend be = (CudaBackend) t.backend();
        Tensor out = be.empty(t.dtype(), t.shapeRef());
        CudaCopy.copy(be, t, out);
        return out;
    }

    /** A float32 contiguous version of t (integer and bool tensors are converted). */
    static Tensor contiguousFloat(Tensor t) {
        if (t.dtype() == DType.FLOAT32) return contiguous(t);
        CudaBackend be = (CudaBackend) t.backend();
        Tensor out = be.empty(DType.FLOAT32, t.shapeRef());
        CudaCopy.copy(be, t, out);
        return out;
    }
}
