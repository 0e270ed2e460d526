package dev.magvit4j.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.magvit4j.backend.cuda.Cuda.check;
import static jcuda.driver.JCudaDriver.*;

/**
 * One GPU: its primary context (shared with libraries such as cuBLAS), the one stream all work
 * is queued on (so work runs in issue order and freed memory can be reused at once), the caching
 * allocator, the kernel modules, and host/device copies.
 *
 * <p>Kernel faults are asynchronous: a bad address shows at the next synchronisation. With
 * {@code -Dmagvit4j.cuda.sync=true} every launch is followed by a synchronisation, so the error
 * names the kernel that caused it; otherwise it names the last kernel launched.
 */
public final class CudaDevice {

    private static final boolean SYNC_EVERY_LAUNCH = Boolean.getBoolean("magvit4j.cuda.sync");
    /** Host copies at least this large go through pinned staging memory. */
    private static final long PINNED_THRESHOLD = 1 << 20;
    private static final long STAGING_BYTES = 16 << 20;

    private static final ThreadLocal<CudaDevice> CURRENT = new ThreadLocal<>();
    /** See {@link #useHopperKernels}. */
    private static volatile boolean hopperKernels = !"false".equalsIgnoreCase(System.getProperty("magvit4j.cuda.wgmma", "true"));

    public final int index;
    public final String name;
    public final long totalMemory;
    public final int multiprocessors;
    public final int computeCapability;
    /** Bytes of L2 cache. */
    public final long l2Bytes;

    private final CUcontext context = new CUcontext();
    final CUstream stream = new CUstream();
    private final long streamAddress;  // the stream's handle as a number, for NativeLaunch
    final CudaAllocator allocator;
    private final Map<String, Module> modules = new HashMap<>();
    private final Map<String, Kernel> kernels = new HashMap<>();
    private final Map<String, String> ptxNames = new HashMap<>();
    private String lastKernel = "(none)";
    private KernelProfile recording;  // while profile() runs
    private Pointer staging;
    private ByteBuffer stagingBuffer;

    CudaDevice(int index) {
        this.index = index;
        CUdevice dev = new CUdevice();
        check(cuDeviceGet(dev, index), "cuDeviceGet(" + index + ")");
        check(cuDevicePrimaryCtxRetain(context, dev), "cuDevicePrimaryCtxRetain(cuda:" + index + ")");
        bind();
        check(cuStreamCreate(stream, 0), "cuStreamCreate");
        this.streamAddress = NativeLaunch.supported() ? NativeLaunch.address(stream) : 0;
        byte[] nameBytes = new byte[256];
        check(cuDeviceGetName(nameBytes, nameBytes.length, dev), "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        this.name = new String(nameBytes, 0, len, StandardCharsets.US_ASCII);
        long[] mem = new long[1];
        check(cuDeviceTotalMem(mem, dev), "cuDeviceTotalMem");
        this.totalMemory = mem[0];
        this.multiprocessors = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.computeCapability = 10 * attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
                + attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.l2Bytes = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
        this.allocator = new CudaAllocator(this);
    }

    private static int attribute(CUdevice dev, int attr) {
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, attr, dev), "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    /** Makes this device's context current on the calling thread (a no-op when it already is). */
    void bind() {
        if (CURRENT.get() != this) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent(cuda:" + index + ")");
            CURRENT.set(this);
        }
    }

    /** Waits for all queued work; a kernel fault surfaces here, named by the last launched kernel. */
    public void synchronize() {
        bind();
        int rc = cuStreamSynchronize(stream);
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaError("CUDA error " + CUresult.stringFor(rc) + " on cuda:" + index + " while waiting for queued work (last kernel launched: " + lastKernel
                    + "; run with -Dmagvit4j.cuda.sync=true to name the kernel that failed)");
        }
    }

    @Override
    public String toString() {
        return "cuda:" + index + " (" + name + ", " + totalMemory / (1 << 20) + " MiB, sm_" + computeCapability + ", tensor-core GEMM on "
                + (runsHopperKernels() ? "wgmma" : "mma.sync") + ")";
    }

    // ------------------------------------------------------------------ kernels

    /** A loaded PTX module and the parameter lists of its kernels. */
    private record Module(CUmodule module, Map<String, KernelSignature> signatures) {}

    /** A kernel, its handle as a number (for {@link NativeLaunch}), and the parameter list its launches are checked against. */
    private record Kernel(CUfunction function, long address, KernelSignature signature) {}

    /**
     * Whether modules with a Hopper build ({@code kernels/NAME.sm_90a.ptx}: the GEMM tiles of
     * matmul and convolution on wgmma) use it on compute capability 9.0 GPUs; otherwise every GPU
     * runs the compute_80 PTX (mma.sync). On by default; {@code -Dmagvit4j.cuda.wgmma=false} turns
     * it off. Switching applies to kernels looked up afterwards (the tests and the benchmarks
     * run both builds in one process).
     */
    public static void useHopperKernels(boolean on) {
        hopperKernels = on;
    }

    /**
     * Whether launches call the driver through the FFM API ({@link NativeLaunch}, the default
     * where it works) or through JCuda ({@code -Dmagvit4j.cuda.jcudaLaunch=true} sets false).
     * The same kernels either way; the FFM path costs the host a few microseconds less per launch.
     */
    public static void useNativeLaunch(boolean on) {
        NativeLaunch.jcudaOnly = !on;
    }

    /** The PTX module that serves MODULE on this GPU: MODULE.sm_90a where it exists and applies, else MODULE. */
    private String ptxName(String module) {
        if (!hopperKernels || computeCapability != 90) return module;
        return ptxNames.computeIfAbsent(module, m -> CudaDevice.class.getResource("/kernels/" + m + ".sm_90a.ptx") != null ? m + ".sm_90a" : m);
    }

    /** Whether this GPU runs matmuls and convolutions on the Hopper build (wgmma) now. */
    public synchronized boolean runsHopperKernels() {
        return !ptxName("matmul").equals("matmul");
    }

    /** A kernel from the PTX module kernels/MODULE.ptx (or its Hopper build) packaged in the jar, loaded once. */
    private synchronized Kernel kernel(String module, String kernel) {
        module = ptxName(module);
        String key = module + "/" + kernel;
        Kernel k = kernels.get(key);
        if (k != null) return k;
        bind();
        Module m = modules.get(module);
        if (m == null) {
            byte[] ptx = readPtx(module);
            CUmodule loaded = new CUmodule();
            check(cuModuleLoadData(loaded, ptx), "cuModuleLoadData(kernels/" + module + ".ptx)");
            m = new Module(loaded, KernelSignature.parse(new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII)));
            modules.put(module, m);
        }
        CUfunction f = new CUfunction();
        check(cuModuleGetFunction(f, m.module(), kernel), "cuModuleGetFunction(" + key + ")");
        k = new Kernel(f, NativeLaunch.supported() ? NativeLaunch.address(f) : 0, m.signatures().get(kernel));  // the driver found it, so its PTX declares it
        kernels.put(key, k);
        return k;
    }

    private static byte[] readPtx(String module) {
        try (InputStream in = CudaDevice.class.getResourceAsStream("/kernels/" + module + ".ptx")) {
            if (in == null) throw new CudaError("kernels/" + module + ".ptx is missing from the jar (rebuild with nvcc on the PATH)");
            byte[] text = in.readAllBytes();
            return Arrays.copyOf(text, text.length + 1);  // the driver wants a NUL-terminated image
        } catch (IOException e) {
            throw new CudaError("cannot read kernels/" + module + ".ptx: " + e.getMessage());
        }
    }

    /**
     * Launches MODULE/KERNEL on a grid of (gx, gy, gz) blocks of {@code block} threads. Arguments:
     * {@link CudaPtr} (a device address), Integer, Long, Float, Double, or int[] (a struct passed
     * by value, such as a {@code Layout}).
     */
    public void launch(String module, String kernel, int gx, int gy, int gz, int block, int sharedBytes, Object... args) {
        Kernel k = kernel(module, kernel);
        k.signature().check(args);
        bind();
        lastKernel = module + "/" + kernel;
        CUevent start = recording != null ? recording.begin(stream) : null;
        int rc;
        if (NativeLaunch.available()) {
            rc = NativeLaunch.launch(k.address(), gx, gy, gz, block, sharedBytes, streamAddress, args);
        } else {
            Pointer[] params = new Pointer[args.length];
            for (int i = 0; i < args.length; i++) params[i] = param(args[i], kernel, i);
            rc = cuLaunchKernel(k.function(), gx, gy, gz, block, 1, 1, sharedBytes, stream, Pointer.to(params), null);
        }
        if (start != null && rc == CUresult.CUDA_SUCCESS) recording.end(lastKernel, start, stream);
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaError("CUDA error " + CUresult.stringFor(rc) + " launching " + lastKernel + " with grid (" + gx + ", " + gy + ", " + gz + "), block " + block
                    + ", " + sharedBytes + " B shared, arguments " + describe(args));
        }
        if (SYNC_EVERY_LAUNCH) {
            rc = cuStreamSynchronize(stream);
            if (rc != CUresult.CUDA_SUCCESS) {
                throw new CudaError("CUDA error " + CUresult.stringFor(rc) + " in kernel " + lastKernel + " (grid (" + gx + ", " + gy + ", " + gz + "), block " + block + ", arguments " + describe(args) + ")");
            }
        }
    }

    /**
     * Runs work (on the calling thread) and returns the GPU time of each kernel it launched,
     * longest first; see {@link KernelProfile}. Not reentrant.
     */
    public List<KernelProfile.Entry> profile(Runnable work) {
        if (recording != null) throw new IllegalStateException("cuda:" + index + " is already being profiled");
        synchronize();
        recording = new KernelProfile();
        try {
            work.run();
            synchronize();
            return recording.entries();
        } finally {
            recording = null;
        }
    }

    /** Raises a kernel's dynamic shared memory limit above the default 48 KiB. */
    public void allowSharedMemory(String module, String kernel, int bytes) {
        CUfunction f = kernel(module, kernel).function();
        check(cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(" + module + "/" + kernel + ", max dynamic shared memory " + bytes + ")");
    }

    private static Pointer param(Object a, String kernel, int i) {
        return switch (a) {
            case CudaPtr p -> Pointer.to(p.pointer());
            case Integer v -> Pointer.to(new int[] {v});
            case Long v -> Pointer.to(new long[] {v});
            case Float v -> Pointer.to(new float[] {v});
            case Double v -> Pointer.to(new double[] {v});
            case int[] struct -> Pointer.to(struct);
            case null -> throw new IllegalArgumentException("kernel " + kernel + ": argument " + i + " is null");
            default -> throw new IllegalArgumentException("kernel " + kernel + ": argument " + i + " has unsupported type " + a.getClass().getSimpleName());
        };
    }

    private static String describe(Object[] args) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < args.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(args[i] instanceof int[] a ? Arrays.toString(a) : String.valueOf(args[i]));
        }
        return sb.append(')').toString();
    }

    // ------------------------------------------------------------------ host <-> device

    /** Copies {@code bytes} from the start of a Java array (float[], long[], int[] or byte[]) to device memory. */
    synchronized void upload(Object array, long bytes, CUdeviceptr dst) {
        if (bytes == 0) return;
        bind();
        if (bytes < PINNED_THRESHOLD) {
            check(cuMemcpyHtoD(dst, hostPointer(array), bytes), "cuMemcpyHtoD(" + bytes + " bytes)");
            return;
        }
        // Large: through pinned memory, which the copy engine reads at full speed.
        for (long done = 0; done < bytes; done += STAGING_BYTES) {
            int n = (int) Math.min(STAGING_BYTES, bytes - done);
            ByteBuffer stage = staging();
            switch (array) {
                case float[] a -> stage.asFloatBuffer().put(a, (int) (done / 4), n / 4);
                case long[] a -> stage.asLongBuffer().put(a, (int) (done / 8), n / 8);
                case int[] a -> stage.asIntBuffer().put(a, (int) (done / 4), n / 4);
                case byte[] a -> stage.put(0, a, (int) done, n);
                default -> throw new IllegalArgumentException("not a host array: " + array.getClass().getSimpleName());
            }
            check(cuMemcpyHtoDAsync(dst.withByteOffset(done), staging, n, stream), "cuMemcpyHtoDAsync(" + n + " bytes)");
            synchronize();  // the staging buffer is reused by the next chunk
        }
    }

    /** Copies {@code bytes} from device memory to the start of a Java array, after all queued work. */
    synchronized void download(CUdeviceptr src, long bytes, Object array) {
        synchronize();
        if (bytes == 0) return;
        if (bytes < PINNED_THRESHOLD) {
            check(cuMemcpyDtoH(hostPointer(array), src, bytes), "cuMemcpyDtoH(" + bytes + " bytes)");
            return;
        }
        for (long done = 0; done < bytes; done += STAGING_BYTES) {
            int n = (int) Math.min(STAGING_BYTES, bytes - done);
            ByteBuffer stage = staging();
            check(cuMemcpyDtoHAsync(staging, src.withByteOffset(done), n, stream), "cuMemcpyDtoHAsync(" + n + " bytes)");
            synchronize();
            switch (array) {
                case float[] a -> stage.asFloatBuffer().get(a, (int) (done / 4), n / 4);
                case long[] a -> stage.asLongBuffer().get(a, (int) (done / 8), n / 8);
                case int[] a -> stage.asIntBuffer().get(a, (int) (done / 4), n / 4);
                case byte[] a -> stage.get(0, a, (int) done, n);
                default -> throw new IllegalArgumentException("not a host array: " + array.getClass().getSimpleName());
            }
        }
    }

    /** The pinned staging buffer, allocated on first use. */
    private ByteBuffer staging() {
        if (staging == null) {
            staging = new Pointer();
            check(cuMemAllocHost(staging, STAGING_BYTES), "cuMemAllocHost(" + STAGING_BYTES + " bytes of pinned memory)");
            stagingBuffer = staging.getByteBuffer(0, STAGING_BYTES).order(ByteOrder.nativeOrder());
        }
        return stagingBuffer.clear();
    }

    private static Pointer hostPointer(Object array) {
        return switch (array) {
            case float[] a -> Pointer.to(a);
            case long[] a -> Pointer.to(a);
            case int[] a -> Pointer.to(a);
            case byte[] a -> Pointer.to(a);
            default -> throw new IllegalArgumentException("not a host array: " + array.getClass().getSimpleName());
        };
    }

    synchronized void copyDeviceToDevice(CUdeviceptr src, CUdeviceptr dst, long bytes) {
        if (bytes == 0) return;
        bind();
        check(cuMemcpyDtoDAsync(dst, src, bytes, stream), "cuMemcpyDtoDAsync(" + bytes + " bytes)");
    }

    /** Sets every byte of a device range to b (0xFF poisons: NaN floats, -1 integers). */
    void memset(CUdeviceptr dst, long bytes, byte b) {
        bind();
        check(cuMemsetD8Async(dst, b, bytes, stream), "cuMemsetD8Async(" + bytes + " bytes)");
    }

    /** Bytes free and total on the device, as the driver reports. */
    public long[] memoryInfo() {
        bind();
        long[] free = new long[1], total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }
}
