package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Storage;
import jcuda.driver.CUdeviceptr;

import java.lang.ref.Cleaner;

/** Device memory of one dtype; the block goes back to the device's allocator once unreachable. */
public final class CudaStorage extends Storage {

    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaBackend backend;
    private final DType dtype;
    private final int length;
    final CUdeviceptr pointer;

    CudaStorage(CudaBackend backend, DType dtype, int length) {
        this.backend = backend;
        this.dtype = dtype;
        this.length = length;
        CudaAllocator allocator = backend.device.allocator;
        CudaAllocator.Block block = allocator.allocate((long) length * dtype.bytes);
        this.pointer = block.pointer();
        // The action must not capture this storage, or it would never become unreachable.
        CLEANER.register(this, () -> allocator.release(block));
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public Backend backend() {
        return backend;
    }
}
