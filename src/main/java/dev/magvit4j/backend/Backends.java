package dev.magvit4j.backend;

import dev.magvit4j.backend.cpu.CpuBackend;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;

/** Finds the backend of a device, and the one that must run an op on given inputs. */
public final class Backends {

    private Backends() {}

    private static final CpuBackend CPU = new CpuBackend();

    public static CpuBackend cpu() {
        return CPU;
    }

    public static Backend of(Device device) {
        if (device.isCpu()) return CPU;
        throw new UnsupportedOperationException("device " + device + " is not available: this build of magvit4j has only the CPU backend; use --device cpu");
    }

    /** The best available device: a CUDA device when one is usable, else the CPU. */
    public static Device auto() {
        return Device.CPU;
    }

    /** The backend shared by all (non-null) inputs; an error names the devices when they differ. */
    public static Backend of(Tensor... inputs) {
        Backend b = null;
        for (Tensor t : inputs) {
            if (t == null) continue;
            Backend tb = t.backend();
            if (b == null) b = tb;
            else if (b != tb) {
                throw new IllegalArgumentException("tensors on different devices: " + b.device() + " and " + tb.device() + "; move them with .to(device) first");
            }
        }
        if (b == null) throw new IllegalArgumentException("no tensor given");
        return b;
    }
}
