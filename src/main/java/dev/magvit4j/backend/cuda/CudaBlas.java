package dev.magvit4j.backend.cuda;

import dev.magvit4j.tensor.Tensor;
import jcuda.Pointer;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

import java.util.HashMap;
import java.util.Map;

import static dev.magvit4j.backend.cuda.CudaTensors.*;
import static jcuda.jcublas.cublasOperation.CUBLAS_OP_N;
import static jcuda.jcublas.cublasOperation.CUBLAS_OP_T;

/**
 * FLOAT32 matmuls on cuBLAS (JCublas 12.6, which needs {@code libcublas.so.12}), used where the
 * library loads; CUDA 13 machines have only libcublas.so.13, and there (or with
 * {@code -Dmagvit4j.cuda.cublas=false}) the built-in kernels of {@link CudaMatmul} run instead.
 * The library is tried once; a failure prints one line and is never an error.
 */
final class CudaBlas {

    private CudaBlas() {}

    private static final boolean WANTED = !"false".equalsIgnoreCase(System.getProperty("magvit4j.cuda.cublas"));
    private static Boolean loaded;  // null until tried
    private static final Map<Integer, cublasHandle> handles = new HashMap<>();

    /**
     * out [count, m, n] = a · b (+ bias) by cublasSgemmStridedBatched, when cuBLAS is usable and
     * both operands have a unit stride in their last two dims and one batch stride each (so a
     * broadcast over several batch dims, for one, goes to the kernels). False: not done here.
     */
    static boolean matmul(CudaBackend be, Tensor out, Tensor a, Tensor b, Tensor bias, int m, int n, int k,
                          int aRs, int aCs, int bRs, int bCs, int[] aBatch, int[] bBatch, int count) {
        if (!WANTED || k == 0) return false;
        // Row-major C [m, n] is column-major Cᵀ [n, m] = Bᵀ · Aᵀ, so cuBLAS's first operand is b.
        // A row-major operand is its column-major transpose as is (op N); a transposed view needs op T.
        int opB, ldb, opA, lda;
        if (bCs == 1 && bRs >= Math.max(1, n)) { opB = CUBLAS_OP_N; ldb = bRs; }
        else if (bRs == 1 && bCs >= Math.max(1, k)) { opB = CUBLAS_OP_T; ldb = bCs; }
        else return false;
        if (aCs == 1 && aRs >= Math.max(1, k)) { opA = CUBLAS_OP_N; lda = aRs; }
        else if (aRs == 1 && aCs >= Math.max(1, m)) { opA = CUBLAS_OP_T; lda = aCs; }
        else return false;
        long strideA = batchStride(aBatch, count), strideB = batchStride(bBatch, count);
        if (strideA < 0 || strideB < 0) return false;
        cublasHandle h = handle(be.device);
        if (h == null) return false;
        float beta = 0f;
        if (bias != null) {  // C starts as the bias in every row, and the product adds to it
            CudaCopy.copy(be, bias, out);
            beta = 1f;
        }
        be.device.bind();
        int rc = JCublas2.cublasSgemmStridedBatched(h, opB, opA, n, m, k, Pointer.to(new float[] {1f}),
                ptr(b).pointer(), ldb, strideB, ptr(a).pointer(), lda, strideA, Pointer.to(new float[] {beta}),
                ptr(out).pointer(), n, (long) m * n, count);
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new CudaError("cublasSgemmStridedBatched(" + m + "x" + k + " by " + k + "x" + n + ", batch " + count + ") failed: " + cublasStatus.stringFor(rc));
        }
        return true;
    }

    /** The one stride of a batch Layout (CudaTensors.layout: rank, offset, shape[], stride[]), or -1 if it has more. */
    private static long batchStride(int[] layout, int count) {
        if (layout[0] == 0) return 0;
        return layout[0] == 1 && layout[2] == count ? layout[2 + MAX_DIMS] : -1;
    }

    /** This device's handle on its stream, or null when cuBLAS is not to be used. */
    private static synchronized cublasHandle handle(CudaDevice d) {
        if (loaded == null) loaded = load();
        if (!loaded) return null;
        cublasHandle h = handles.get(d.index);
        if (h == null) {
            d.bind();
            h = new cublasHandle();
            int rc = JCublas2.cublasCreate(h);
            if (rc == cublasStatus.CUBLAS_STATUS_SUCCESS) rc = JCublas2.cublasSetStream(h, new cudaStream_t(d.stream));
            if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS) {
                System.err.println("magvit4j: cuBLAS unavailable (cublasCreate on cuda:" + d.index + ": " + cublasStatus.stringFor(rc) + "); using the built-in CUDA matmul");
                loaded = false;
                return null;
            }
            handles.put(d.index, h);
        }
        return h;
    }

    private static boolean load() {
        try {
            JCublas2.setExceptionsEnabled(false);
            JCublas2.initialize();
            return true;
        } catch (Throwable e) {  // no libcublas.so.12, no JCublas natives for this platform, no JCublas jar
            String msg = String.valueOf(e.getMessage());
            String why = msg.contains("libcublas") ? "libcublas.so.12 not found" : e.getClass().getSimpleName() + ": " + msg.lines().findFirst().orElse("");
            System.err.println("magvit4j: cuBLAS unavailable (" + why + "); using the built-in CUDA matmul");
            return false;
        }
    }
}
