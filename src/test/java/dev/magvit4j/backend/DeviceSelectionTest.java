package dev.magvit4j.backend;

import dev.magvit4j.backend.cuda.Cuda;
import dev.magvit4j.backend.cuda.CudaError;
import dev.magvit4j.nn.Linear;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

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
