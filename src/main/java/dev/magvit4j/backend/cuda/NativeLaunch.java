package dev.magvit4j.backend.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * {@code cuLaunchKernel} called through the FFM API instead of JCuda. JCuda marshals a
 * launch's parameter array object by object (a few microseconds per launch, measured on the
 * test suite's emulator: 3.7 µs of JCuda against 0.1 µs of driver); here the arguments are
 * written into one native block per thread and the driver gets its address, so small launch-bound
 * work (AR sampling, small-batch tokenizer passes) pays the driver's own cost and little else.
 *
 * <p>The handles (CUfunction, CUstream, device pointers) are JCuda's objects, read as numbers
 * through their private {@code nativePointer} (and {@code byteOffset}) fields: JCuda still does
 * everything but the launch.
 * If any of this is unavailable here, launches go through JCuda ({@link #available}).
 */
final class NativeLaunch {

    private NativeLaunch() {}

    /** Parameters one launch can pass, and the bytes their values may take. */
    private static final int MAX_PARAMS = 64, VALUE_BYTES = 16 << 10;

    private static final MethodHandle LAUNCH;
    private static final VarHandle NATIVE_POINTER, BYTE_OFFSET;
    /** Why the FFM path is off (null when it is on). */
    static final String UNAVAILABLE;

    static {
        MethodHandle launch = null;
        VarHandle pointer = null, offset = null;
        String why = null;
        try {
            // The driver JCuda uses: the library given by -Dmagvit4j.cuda.driver (resolved as Cuda
            // resolves it), else the system's, by the name the loader already knows it by.
            String driver = System.getProperty("magvit4j.cuda.driver", "");
            String name = !driver.isEmpty() ? java.nio.file.Path.of(driver).toAbsolutePath().toString()
                    : System.getProperty("os.name", "").startsWith("Windows") ? "nvcuda.dll" : "libcuda.so.1";
            SymbolLookup lib = SymbolLookup.libraryLookup(name, Arena.global());
            MemorySegment symbol = lib.find("cuLaunchKernel").orElseThrow(() -> new IllegalStateException("no cuLaunchKernel in the driver"));
            // CUresult cuLaunchKernel(CUfunction, gx, gy, gz, bx, by, bz, sharedMem, CUstream, void** params, void** extra)
            launch = Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
            pointer = MethodHandles.privateLookupIn(NativePointerObject.class, MethodHandles.lookup())
                    .findVarHandle(NativePointerObject.class, "nativePointer", long.class);
            offset = MethodHandles.privateLookupIn(Pointer.class, MethodHandles.lookup()).findVarHandle(Pointer.class, "byteOffset", long.class);
        } catch (Throwable e) {  // no driver, no native access, another JCuda: JCuda launches instead
            why = e.toString();
        }
        LAUNCH = launch;
        NATIVE_POINTER = pointer;
        BYTE_OFFSET = offset;
        UNAVAILABLE = why;
    }

    /** -Dmagvit4j.cuda.jcudaLaunch=true launches through JCuda even where this path works (the tests run both). */
    static volatile boolean jcudaOnly = Boolean.getBoolean("magvit4j.cuda.jcudaLaunch");

    /** Whether the handles can be read and the driver called here. */
    static boolean supported() {
        return UNAVAILABLE == null;
    }

    /** Whether launches go this way now. */
    static boolean available() {
        return UNAVAILABLE == null && !jcudaOnly;
    }

    /** The address a JCuda handle or pointer stands for (its native pointer plus its byte offset). */
    static long address(NativePointerObject o) {
        long base = (long) NATIVE_POINTER.get(o);
        return o instanceof Pointer p ? base + (long) BYTE_OFFSET.get(p) : base;
    }

    /** One thread's parameter block: void* params[MAX_PARAMS], then the values they point at. */
    private static final ThreadLocal<MemorySegment> BLOCK =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8L * MAX_PARAMS + VALUE_BYTES, 16));

    /** Launches function on stream with the arguments of {@link CudaDevice#launch}; the driver's result code. */
    static int launch(long function, int gx, int gy, int gz, int block, int sharedBytes, long stream, Object[] args) {
        if (args.length > MAX_PARAMS) throw new IllegalArgumentException("a launch of more than " + MAX_PARAMS + " arguments");
        MemorySegment b = BLOCK.get();
        long at = 8L * MAX_PARAMS;
        for (int i = 0; i < args.length; i++) {
            at = (at + 7) & ~7L;  // every value 8-byte aligned: enough for any parameter's type
            long bytes = args[i] instanceof int[] struct ? 4L * struct.length : args[i] instanceof Integer || args[i] instanceof Float ? 4 : 8;
            if (at + bytes > b.byteSize()) throw new IllegalArgumentException("a launch's arguments take more than " + VALUE_BYTES + " bytes");
            b.set(ValueLayout.JAVA_LONG, 8L * i, b.address() + at);
            switch (args[i]) {
                case CudaPtr p -> b.set(ValueLayout.JAVA_LONG, at, address(p.pointer()));
                case Integer v -> b.set(ValueLayout.JAVA_INT, at, v);
                case Long v -> b.set(ValueLayout.JAVA_LONG, at, v);
                case Float v -> b.set(ValueLayout.JAVA_FLOAT, at, v);
                case Double v -> b.set(ValueLayout.JAVA_DOUBLE, at, v);
                case int[] struct -> MemorySegment.copy(struct, 0, b, ValueLayout.JAVA_INT, at, struct.length);
                default -> throw new IllegalArgumentException("argument " + i + " has unsupported type " + args[i].getClass().getSimpleName());
            }
            at += bytes;
        }
        try {
            return (int) LAUNCH.invokeExact(MemorySegment.ofAddress(function), gx, gy, gz, block, 1, 1, sharedBytes, MemorySegment.ofAddress(stream),
                    b, MemorySegment.NULL);
        } catch (Throwable e) {
            throw new CudaError("cuLaunchKernel through the FFM API failed: " + e);
        }
    }
}
