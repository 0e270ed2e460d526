package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import static dev.magvit4j.backend.cuda.CudaTensors.*;

/** Copies between views, dtypes and devices, and fills. Kernels: kernels/copy.cu. CPU: CpuCopy. */
final class CudaCopy {

    private CudaCopy() {}

    /** dst[i] = src[i]; src may live on the CPU or any CUDA device; dst is on this backend's device. */
    static void copy(CudaBackend be, Tensor src, Tensor dst) {
        int n = dst.numel();
        if (n == 0) return;
        if (!src.device().equals(dst.device())) {
            // Through a contiguous copy in dst's dtype on this device.
            Tensor staged = src.device().isCpu() ? upload(be, src, dst.dtype()) : upload(be, src.backend().toCpu(src), dst.dtype());
            copy(be, staged, dst);
            return;
        }
        if (src.isContiguous() && dst.isContiguous() && src.dtype() == dst.dtype()) {
            be.device.copyDeviceToDevice(ptr(src).pointer(), ptr(dst).pointer(), (long) n * dst.dtype().bytes);
            return;
        }
        be.device.launch("copy", "copy_strided", blocks(be, n, THREADS), 1, 1, THREADS, 0,
                base(dst), layout(dst), code(dst.dtype()), base(src), broadcastLayout(src, dst.shapeRef()), code(src.dtype()), n);
    }

    static void fill(CudaBackend be, Tensor dst, double value) {
        int n = dst.numel();
        if (n == 0) return;
        be.device.launch("copy", "fill_strided", blocks(be, n, THREADS), 1, 1, THREADS, 0, base(dst), layout(dst), code(dst.dtype()), value, n);
    }

    /** A contiguous device copy of a CPU tensor, converted to dtype on the CPU first. */
    static Tensor upload(CudaBackend be, Tensor host, DType dtype) {
        Tensor c = Backends.cpu().empty(dtype, host.shapeRef());
        Backends.cpu().copy(host, c);
        Tensor out = be.empty(dtype, host.shapeRef());
        be.device.upload(Backends.cpu().array(c), (long) c.numel() * dtype.bytes, ptr(out).pointer());
        return out;
    }

    /** A contiguous CPU copy of a device tensor. */
    static Tensor download(CudaBackend be, Tensor src) {
        Tensor c = contiguous(src);
        Tensor host = Backends.cpu().empty(src.dtype(), src.shapeRef());
        be.device.download(ptr(c).pointer(), (long) c.numel() * c.dtype().bytes, Backends.cpu().array(host));
        return host;
    }
}
