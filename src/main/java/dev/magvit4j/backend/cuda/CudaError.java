package dev.magvit4j.backend.cuda;

/** A failed CUDA call or kernel; the message names the call (or kernel and its arguments). */
public final class CudaError extends RuntimeException {

    public CudaError(String message) {
        super(message);
    }
}
