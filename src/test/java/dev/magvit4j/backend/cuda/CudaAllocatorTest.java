package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.backend.ConvGeometry;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.ChildJvm;
import dev.magvit4j.testing.Devices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Device memory: the kernel wrappers give their temporaries back as soon as their kernels are
 * queued, and an allocation that finds the device full waits for the collector's garbage to come
 * back before it gives up with a one-line error.
 */
class CudaAllocatorTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void aReleasedTemporaryIsBackAtOnceAndCannotBeUsedAgain(Device device) throws InterruptedException {
        Devices.use(device);
        CudaBackend be = (CudaBackend) Backends.of(device);
        CudaAllocator allocator = be.device.allocator;
        long before = settled(allocator);
        Tensor t = be.empty(DType.FLOAT32, 3, 1000);
        assertTrue(allocator.liveBytes() >= before + 12000, "a block of at least 12000 bytes");
        CudaTensors.release(t);
        assertEquals(before, allocator.liveBytes());
        CudaTensors.release(t);  // a second release does nothing (nor will the Cleaner's)
        assertEquals(before, allocator.liveBytes());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> be.fill(t, 1f));
        assertEquals("a [3, 1000] temporary is used after its memory was released", e.getMessage());
    }

    /**
     * A Winograd convolution in chunks, a k-split matmul, a group norm and its backward leave only
     * their outputs behind: with those released too, the live bytes are back where they were.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void wrappersLeaveOnlyTheirOutputs(Device device) throws InterruptedException {
        Devices.use(device);
        CudaBackend be = (CudaBackend) Backends.of(device);
        CudaAllocator allocator = be.device.allocator;
        Generator gen = new Generator(5);
        Tensor x = Tensor.randn(gen, 2, 6, 10, 10).to(device), w = Tensor.randn(gen, 5, 6, 3, 3).to(device);
        Tensor a = Tensor.randn(gen, 8, 2048).to(device), b = Tensor.randn(gen, 2048, 8).to(device);  // one 128 x 128 tile over k = 2048: split
        Tensor scale = Tensor.randn(gen, 6).to(device), shift = Tensor.randn(gen, 6).to(device);
        ConvGeometry g = ConvGeometry.of(x.shapeRef(), w.shapeRef(), 1, 1, 1, 1);
        Tensor y = be.empty(DType.FLOAT32, 2, 5, 10, 10);
        long before = settled(allocator);
        List<KernelProfile.Entry> kernels = be.device.profile(() -> {
            CudaWinograd.convolve(be, g, x, w, false, null, y, 36L * 6 * 7);
            assertEquals(before, allocator.liveBytes(), "the convolution wrote into y and kept nothing");
            CudaTensors.release(be.matmul(a, b, null));
            assertEquals(before, allocator.liveBytes(), "the matmul kept nothing but its output");
            Tensor[] norm = be.groupNorm(x, 3, 1e-5f, scale, shift, true);
            Tensor[] grads = be.groupNormBackward(x, x, norm[1], norm[2], 3, scale, shift, true);
            CudaTensors.release(norm);
            CudaTensors.release(grads);
            assertEquals(before, allocator.liveBytes(), "the norms kept nothing but their outputs");
        });
        assertTrue(kernels.stream().anyMatch(e -> e.kernel().equals("matmul/splitk_reduce")), "the matmul split k: " + kernels);
    }

    /**
     * The live bytes once earlier tests' garbage is back (a collection, then no change for 40 ms),
     * so the Cleaner does not release old tensors while a test counts.
     */
    private static long settled(CudaAllocator allocator) throws InterruptedException {
        System.gc();
        long last = -1;
        for (int quiet = 0; quiet < 2; ) {
            Thread.sleep(20);
            long now = allocator.liveBytes();
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
        return last;
    }

    /**
     * A device that fills up with garbage (tensors dropped but not yet collected) recovers: the
     * allocation that fails waits for the collector and the Cleaner, then retries. Blocks of mixed
     * sizes, so a single block coming back rarely fits. Past the device's size the error is one
     * line. Run in a child JVM on the emulator with 64 MiB of device memory.
     */
    @Test
    void aFullDeviceRecoversFromGarbageAndThenSaysWhatDoesNotFit() throws Exception {
        String out = ChildJvm.onEmulator(Garbage.class, Map.of("MAGVIT4J_EMULATOR_MEMORY_MIB", "64")).strip();
        String[] lines = out.split("\n");
        assertEquals("400 allocations of 1 to 12 MiB on a 64 MiB device: ok", lines[0]);
        assertEquals("3 x (3500 blocks of 16 KiB, then one of 40 MiB): ok", lines[1]);
        assertTrue(lines[2].startsWith("out of GPU memory on cuda:0 allocating 100.0 MiB (live tensors hold "), lines[2]);
        assertTrue(lines[2].endsWith(" of 64.0 MiB); use a smaller batch or image size"), lines[2]);
    }

    /** The child JVM of {@link #aFullDeviceRecoversFromGarbageAndThenSaysWhatDoesNotFit}. */
    public static final class Garbage {
        public static void main(String[] args) {
            CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
            Generator gen = new Generator(1);
            Tensor kept = be.empty(DType.FLOAT32, 1 << 20);  // 4 MiB live throughout
            for (int i = 0; i < 400; i++) be.empty(DType.FLOAT32, (1 + gen.nextInt(12)) << 18);
            System.out.println("400 allocations of 1 to 12 MiB on a 64 MiB device: ok");
            // Thousands of small blocks of garbage, then one large block: it needs most of them back.
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 3500; i++) be.empty(DType.FLOAT32, 4096);
                be.empty(DType.FLOAT32, 40 << 18);
            }
            System.out.println("3 x (3500 blocks of 16 KiB, then one of 40 MiB): ok");
            try {
                be.empty(DType.FLOAT32, 100 << 18);
            } catch (CudaError e) {
                System.out.println(e.getMessage());
            }
            System.out.println(kept.numel());
        }
    }
}
