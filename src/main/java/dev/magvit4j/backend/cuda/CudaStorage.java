package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Storage;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUpointer_attribute;
import jcuda.driver.JCudaDriver;

import java.lang.ref.Cleaner;

/**
 * Device memory of one dtype; the block goes back to the device's allocator once unreachable,
 * or at once when a kernel wrapper {@link #release}s a temporary of its own.
 */
public final class CudaStorage extends Storage {

    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaBackend backend;
    final CUdeviceptr pointer;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean released;
    private long address;  // the device address as a number, once asked for (kernels' TensorList)

    CudaStorage(CudaBackend backend, DType dtype, int length) {
        super(dtype, length);
        this.backend = backend;
        CudaAllocator allocator = backend.device.allocator;
        CudaAllocator.Block block = allocator.allocate((long) length * dtype.bytes);
        this.pointer = block.pointer();
        // The action must not capture this storage, or it would never become unreachable.
        this.cleanable = CLEANER.register(this, () -> allocator.release(block));
    }

    /**
     * Gives the block back to the allocator now instead of when the collector finds this storage
     * unreachable (it runs once either way). For temporaries a wrapper has finished queuing
     * kernels on: the stream runs in order, so work queued later on the reused block starts
     * after theirs ends. The storage must not be used again.
     */
    void release() {
        released = true;
        cleanable.clean();
    }

    boolean released() {
        return released;
    }

    /** The block's device address as a number (for kernel arguments that carry addresses in a struct). */
    long address() {
        if (address == 0) {
            long[] a = new long[1];
            backend.device.bind();
            Cuda.check(JCudaDriver.cuPointerGetAttribute(Pointer.to(a), CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, pointer),
                    "cuPointerGetAttribute(DEVICE_POINTER)");
            address = a[0];
        }
        return address;
    }

    @Override
    public Backend backend() {
        return backend;
    }
}
