package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.Devices;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Launches that go wrong: arguments that do not fit the kernel's PTX signature are refused
 * before the driver sees them, and a launch the driver refuses names the kernel, its grid and
 * its arguments. The last test covers what only the CPU emulator of the test suite can see
 * (src/test/cuda-emulator): a kernel writing past the end of its buffer.
 */
class CudaLaunchTest {

    private static final String PTX = """
            .visible .entry k(
            	.param .u64 k_param_0,
            	.param .u64 .ptr .global .align 1 k_param_1,
            	.param .align 4 .b8 k_param_2[72],
            	.param .u32 k_param_3,
            	.param .f32 k_param_4,
            	.param .f64 k_param_5
            )
            .maxntid 256, 1, 1
            {
            }
            .visible .entry none()
            {
            }
            """;

    @Test
    void signaturesAreReadFromPtx() {
        Map<String, KernelSignature> s = KernelSignature.parse(PTX);
        assertEquals(List.of("u64", "u64", "b8[72]", "u32", "f32", "f64"), s.get("k").params());
        assertEquals(List.of(), s.get("none").params());
    }

    @Test
    void argumentsMustFitTheSignature() {
        KernelSignature k = KernelSignature.parse(PTX).get("k");
        CudaPtr p = new CudaPtr(new jcuda.driver.CUdeviceptr(), "p");
        k.check(new Object[] {p, 7L, new int[18], 3, 1.5f, 2.0});

        IllegalArgumentException count = assertThrows(IllegalArgumentException.class, () -> k.check(new Object[] {p, p, new int[18], 3, 1.5f}));
        assertEquals("kernel k takes 6 arguments [u64, u64, b8[72], u32, f32, f64], given 5", count.getMessage());
        IllegalArgumentException kind = assertThrows(IllegalArgumentException.class, () -> k.check(new Object[] {p, p, new int[18], 3f, 1.5f, 2.0}));
        assertEquals("kernel k: argument 3 is a Float but the kernel's parameter is .u32 (parameters [u64, u64, b8[72], u32, f32, f64])", kind.getMessage());
        IllegalArgumentException struct = assertThrows(IllegalArgumentException.class, () -> k.check(new Object[] {p, p, new int[17], 3, 1.5f, 2.0}));
        assertTrue(struct.getMessage().contains("argument 2 is a int[17] but the kernel's parameter is .b8[72]"), struct.getMessage());
        assertThrows(IllegalArgumentException.class, () -> k.check(new Object[] {p, p, new int[18], 3, 1.5f, 2f}), "a float for a double");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void badLaunchesAreNamed(Device device) {
        Devices.use(device);
        CudaBackend be = (CudaBackend) Backends.of(device);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(device), y = be.empty(DType.FLOAT32, 4);
        CudaDevice gpu = be.device;

        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> gpu.launch("copy", "copy_f32", 1, 1, 1, 32, 0, CudaTensors.ptr(y), CudaTensors.ptr(x)));
        assertTrue(missing.getMessage().startsWith("kernel copy_f32 takes 3 arguments"), missing.getMessage());

        // lfq_gemm is built for blocks of at most 256 threads (__launch_bounds__): the driver refuses 512.
        CudaError bounds = assertThrows(CudaError.class,
                () -> gpu.launch("lfq", "lfq_gemm", 1, 1, 1, 512, 0, CudaTensors.ptr(x), 1, 1, CudaTensors.ptr(x), 1, 1, CudaTensors.ptr(y), 1, 0L, 1, 1, 1, 1, 0));
        assertTrue(bounds.getMessage().contains("launching lfq/lfq_gemm with grid (1, 1, 1), block 512"), bounds.getMessage());

        gpu.launch("copy", "copy_f32", 1, 1, 1, 32, 0, CudaTensors.ptr(y), CudaTensors.ptr(x), 4);
        assertEquals(List.of(1f, 2f, 3f, 4f), List.of(y.toFloatArray()[0], y.toFloatArray()[1], y.toFloatArray()[2], y.toFloatArray()[3]));
    }

    /**
     * Launches go through the FFM API (NativeLaunch) where it works, which must be so wherever
     * the driver loads (else a silent fallback would hide a broken path); JCuda's launch gives
     * the same results.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void launchesGoThroughTheFfmApiAndJCudaAlike(Device device) {
        Devices.use(device);
        assertTrue(NativeLaunch.supported(), "cuLaunchKernel through the FFM API: " + NativeLaunch.UNAVAILABLE);
        CudaBackend be = (CudaBackend) Backends.of(device);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5}, 5).to(device);
        boolean before = NativeLaunch.jcudaOnly;
        try {
            for (boolean jcuda : new boolean[] {false, true}) {
                NativeLaunch.jcudaOnly = jcuda;
                Tensor y = Tensor.of(new float[] {10, 20, 30, 40, 50}, 5).to(device);
                // y's pointer carries a byte offset; x goes as its storage and a Layout struct; two floats, an int.
                be.axpby(2f, x.slice(0, 0, 4), 0.5f, y.slice(0, 1, 5));
                assertArrayEquals(new float[] {10, 12, 19, 26, 33}, y.toFloatArray(), jcuda ? "through JCuda" : "through the FFM API");
            }
        } finally {
            NativeLaunch.jcudaOnly = before;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void aProfileTimesEachKernel(Device device) {
        Devices.use(device);
        CudaBackend be = (CudaBackend) Backends.of(device);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(device), y = be.empty(DType.FLOAT32, 4);
        List<KernelProfile.Entry> p = be.device.profile(() -> {
            for (int i = 0; i < 3; i++) be.device.launch("copy", "copy_f32", 1, 1, 1, 32, 0, CudaTensors.ptr(y), CudaTensors.ptr(x), 4);
            be.fill(y, 0);
        });
        KernelProfile.Entry copy = p.stream().filter(e -> e.kernel().equals("copy/copy_f32")).findFirst().orElseThrow();
        assertEquals(3, copy.launches());
        assertTrue(copy.ms() > 0, "a launch takes some time: " + copy);
        assertEquals(4, p.stream().mapToInt(KernelProfile.Entry::launches).sum(), p.toString());  // the fill too, and nothing else
        assertTrue(be.device.profile(() -> {}).isEmpty());
        assertThrows(IllegalStateException.class, () -> be.device.profile(() -> be.device.profile(() -> {})));
        assertTrue(be.device.profile(() -> {}).isEmpty(), "a failed profile leaves none running");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void theEmulatorCatchesWritesPastTheEnd(Device device) {
        Devices.use(device);
        CudaBackend be = (CudaBackend) Backends.of(device);
        assumeTrue(be.device.name.contains("emulator"), "a GPU does not fault on a small overrun; only the CPU emulator checks for it");
        Tensor x = Tensor.zeros(1000).to(device);
        CUdeviceptr y = new CUdeviceptr();  // exactly 128 floats, not a block of the caching allocator's
        Cuda.check(JCudaDriver.cuMemAlloc(y, 512), "cuMemAlloc");
        try {
            CudaError e = assertThrows(CudaError.class, () -> {
                be.device.launch("copy", "copy_f32", 1, 1, 1, 256, 0, new CudaPtr(y, "y"), CudaTensors.ptr(x), 130);
                be.device.synchronize();
            });
            assertTrue(e.getMessage().contains("copy/copy_f32"), e.getMessage());
        } finally {
            JCudaDriver.cuMemFree(y);
        }
    }
}
