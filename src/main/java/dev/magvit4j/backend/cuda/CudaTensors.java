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
        if (s.released()) throw new IllegalStateException("a " + Shape.str(t.shapeRef()) + " temporary is used after its memory was released");
        return s;
    }

    /** Gives the memory of a wrapper's own temporaries back now ({@link CudaStorage#release}); nulls are skipped. */
    static void release(Tensor... temporaries) {
        for (Tensor t : temporaries) {
            if (t != null && t.storage() instanceof CudaStorage s && !s.released()) s.release();
        }
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
     * tensors of one size each (the kernel's ptr[0..3]; ptr[0] the one it writes), up to
     * LIST_TENSORS rows per launch, with the scalar arguments after the list.
     */
    static void launchList(CudaBackend be, String module, String kernel, List<Tensor[]> rows, Object... scalars) {
        forEachList(be, rows, (list, blocks) -> be.device.launch(module, kernel, blocks, 1, 1, THREADS, 0, args(new Object[] {list}, scalars)));
    }

    /** One launch's TensorList (as a struct argument) and the blocks of its grid. */
    interface ListLaunch {
        void launch(int[] list, int blocks);
    }

    /**
     * Builds the TensorList of each run of up to LIST_TENSORS rows (see {@link #launchList}) and
     * hands it, with its grid's block count, to launch. Each row gets the blocks a single packed
     * launch over its tensors would, so a big tensor is not starved by the small ones beside it.
     * A row whose first tensor starts where an earlier row's of the run does (the same tensor
     * listed twice) starts a new run: within a launch its two updates would race, across two
     * they follow each other as separate calls would. The rows stay reachable until the last
     * launch is queued: the lists carry bare addresses, which the allocator would otherwise be
     * free to hand out again.
     */
    static void forEachList(CudaBackend be, List<Tensor[]> rows, ListLaunch launch) {
        // struct TensorList { u64 ptr[4][L]; int n[L]; int start[L + 1]; }, padded to 8 bytes.
        int nAt = 8 * LIST_TENSORS, startAt = nAt + LIST_TENSORS;
        int[] list = null;
        int count = 0, blocks = 0;
        java.util.Set<Long> written = new java.util.HashSet<>();
        for (Tensor[] row : rows) {
            long first = address(be, row[0]);
            if (list != null && (count == LIST_TENSORS || written.contains(first))) {
                launchRun(list, count, blocks, startAt, launch);
                list = null;
            }
            if (list == null) {
                list = new int[(startAt + LIST_TENSORS + 1 + 1) & ~1];
                count = blocks = 0;
                written.clear();
            }
            written.add(first);
            for (int k = 0; k < row.length; k++) {
                long address = address(be, row[k]);
                list[2 * (k * LIST_TENSORS + count)] = (int) address;
                list[2 * (k * LIST_TENSORS + count) + 1] = (int) (address >>> 32);
            }
            list[nAt + count] = row[0].numel();
            list[startAt + count] = blocks;
            blocks += CudaElementwise.packedBlocks(be, row[0].numel());
            count++;
        }
        if (list != null) launchRun(list, count, blocks, startAt, launch);
        java.lang.ref.Reference.reachabilityFence(rows);
    }

    private static void launchRun(int[] list, int count, int blocks, int startAt, ListLaunch launch) {
        for (int i = count; i <= LIST_TENSORS; i++) list[startAt + i] = blocks;
        launch.launch(list, blocks);
    }

    /** The device address of t's first element, for a TensorList; t must live on be's device. */
    private static long address(CudaBackend be, Tensor t) {
        CudaStorage s = storage(t);
        if (s.backend() != be) throw new IllegalArgumentException("a list of tensors for " + be.device() + " holds one on " + t.device());
        return s.address() + (long) t.offset() * t.dtype().bytes;
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
