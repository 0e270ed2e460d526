package dev.magvit4j.backend;

import dev.magvit4j.backend.cuda.Cuda;
import dev.magvit4j.backend.cuda.CudaError;
import dev.magvit4j.nn.Linear;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.ChildJvm;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Choosing devices: auto, clear errors for unusable ones, and moving a module in place. */
class DeviceSelectionTest {

    @Test
    void autoPicksTheCpuWhenCudaIsUnusableAndCudaSaysWhy() {
        Cuda.Status status = Cuda.status();
        if (status.available()) {
            assertEquals(Device.cuda(0), Backends.parse("auto"));
            CudaError e = assertThrows(CudaError.class, () -> Backends.parse("cuda:" + status.deviceCount()));
            assertTrue(e.getMessage().contains("no device cuda:" + status.deviceCount()), e.getMessage());
        } else {
            assertFalse(status.reason().isEmpty());
            assertEquals(Device.CPU, Backends.parse("auto"));
            CudaError e = assertThrows(CudaError.class, () -> Backends.parse("cuda"));
            assertEquals("CUDA unavailable: " + status.reason() + "; use --device cpu", e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line");
        }
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Backends.parse("gpu"));
        assertEquals("unknown device 'gpu': use cpu, cuda or cuda:N", bad.getMessage());
    }

    /**
     * A driver older than the CUDA release of the kernels' PTX ISA (8.0: CUDA 12.0) would refuse
     * to load them at the first kernel; instead CUDA is reported unusable up front, saying what to
     * update, and auto picks the CPU. Run in a child JVM on the emulator told to be a CUDA 11.8
     * driver (and, as the control, a 12.0 one).
     */
    @Test
    void aDriverTooOldForTheKernelsIsReportedUpFront() throws Exception {
        String old = ChildJvm.onEmulator(AutoProbe.class, Map.of("MAGVIT4J_EMULATOR_DRIVER_VERSION", "11080")).strip();
        assertEquals("8.0", Cuda.kernelsPtxIsa(), "kernels/build.sh declares PTX ISA 8.0");
        assertEquals("auto -> cpu: CUDA unavailable: the NVIDIA driver supports CUDA 11.8, but this build's kernels (PTX ISA 8.0) need CUDA 12.0 or newer: update the NVIDIA driver",
                old);
        assertEquals("auto -> cuda:0: CUDA driver 12.0, 1 device(s)", ChildJvm.onEmulator(AutoProbe.class, Map.of("MAGVIT4J_EMULATOR_DRIVER_VERSION", "12000")).strip());
    }

    @Test
    void ptxIsaVersionsMapToTheCudaReleasesThatIntroducedThem() {
        assertEquals(11000, Cuda.requiredDriverVersion("7.0"));
        assertEquals(11080, Cuda.requiredDriverVersion("7.8"));
        assertEquals(12000, Cuda.requiredDriverVersion("8.0"));
        assertEquals(12050, Cuda.requiredDriverVersion("8.5"));
        assertEquals(12070, Cuda.requiredDriverVersion("8.6"));
        assertEquals(12090, Cuda.requiredDriverVersion("8.8"));
        assertEquals(13000, Cuda.requiredDriverVersion("9.0"));
    }

    /** The child JVM of {@link #aDriverTooOldForTheKernelsIsReportedUpFront}. */
    public static final class AutoProbe {
        public static void main(String[] args) {
            System.out.println("auto -> " + Backends.parse("auto") + ": " + Cuda.status());
        }
    }

    @Test
    void setDataKeepsTheTensorAndItsGradientAttached() {
        Linear layer = new Linear(3, 2, true, new Generator(1));
        Tensor weight = layer.weight;
        weight.setGrad(Tensor.ones(2, 3));
        Tensor replacement = Tensor.full(5f, 2, 3);
        weight.setData(replacement);
        assertSame(weight, layer.namedParameters().get("weight"));
        assertArrayEquals(replacement.toFloatArray(), weight.toFloatArray());
        assertArrayEquals(Tensor.ones(2, 3).toFloatArray(), weight.grad().toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> weight.setData(Tensor.zeros(3, 2)));
        assertSame(layer, layer.to(Device.CPU));
        assertEquals(Device.CPU, layer.device());
    }
}
