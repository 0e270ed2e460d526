package dev.magvit4j.testing;

import dev.magvit4j.backend.cuda.Cuda;
import dev.magvit4j.tensor.Device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The devices that device-parameterised tests run on: the CPU, and cuda:0. Where CUDA cannot be
 * used (no driver, no GPU, no kernels in the build), the cuda:0 runs are skipped and the test
 * report says why.
 *
 * <pre>{@code
 * @ParameterizedTest(name = "{0}")
 * @MethodSource("dev.magvit4j.testing.Devices#all")
 * void works(Device device) { Devices.use(device); ... }
 * }</pre>
 */
public final class Devices {

    private Devices() {}

    public static Stream<Device> all() {
        return Stream.of(Device.CPU, Device.cuda(0));
    }

    /** The CUDA devices compared with the CPU by the conformance suite. */
    public static Stream<Device> gpus() {
        return Stream.of(Device.cuda(0));
    }

    /**
     * Skips the calling test, with the reason, when the device cannot be used here: no driver,
     * or no emulator built (no g++ or nvcc). A driver that is there but does not work (say an
     * emulator library that fails to load) fails the test instead, so it cannot pass by skipping.
     */
    public static Device use(Device device) {
        if (device.isCpu()) return device;
        String driver = System.getProperty("magvit4j.cuda.driver", "");
        if (!Cuda.available() && !driver.isEmpty() && Files.exists(Path.of(driver))) {
            fail("the CUDA driver " + driver + " is there but cannot be used: " + Cuda.status());
        }
        assumeTrue(Cuda.available(), () -> "skipped on " + device + ": " + Cuda.status());
        return device;
    }
}
