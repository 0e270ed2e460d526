package dev.magvit4j.backend.cuda;

import jcuda.driver.CUdeviceptr;

/** A device address passed to a kernel, with a description for error messages. */
public record CudaPtr(CUdeviceptr pointer, String what) {
    @Override
    public String toString() {
        return what;
    }
}
