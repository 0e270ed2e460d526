package dev.magvit4j.backend;

import dev.magvit4j.backend.cpu.CpuBackend;
import dev.magvit4j.backend.cuda.Cuda;
import dev.magvit4j.backend.cuda.CudaBackend;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Finds the backend of a device, and the one that must run an op on given inputs. */
public final class Backends {

    private Backends() {}

    private static final CpuBackend CPU = new CpuBackend();

    public static CpuBackend cpu() {
        return CPU;
    }

    private static final Map<Integer, CudaBackend> CUDA = new HashMap<>();

    /**
     * The backend of a device. A CUDA device that cannot be used (no driver, no GPU, a build
     * without kernels, an index past the last GPU) gives a one-line CudaError saying why.
     */
    public static synchronized Backend of(Device device) {
        if (device.isCpu()) return CPU;
        return CUDA.computeIfAbsent(device.index(), i -> new CudaBackend(Cuda.device(i)));
    }

    /** The best available device: cuda:0 when CUDA is usable, else the CPU. */
    public static Device auto() {
        return Cuda.available() ? Device.cuda(0) : Device.CPU;
    }

    /** Parses a --device value: cpu, cuda, cuda:N, or auto (cuda:0 when usable, else cpu). */
    public static Device parse(String spec) {
        if (spec.trim().equalsIgnoreCase("auto")) return auto();
        Device d = Device.parse(spec);
        of(d);  // fails now, with the reason, when the device cannot be used
        return d;
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

    /**
     * The positions of the tensors by backend, in order of first appearance: how the callers of
     * the multi-tensor methods ({@code Backend.adamSteps}, {@code axpbys}, {@code sumOfSquares})
     * split lists that span devices.
     */
    public static Map<Backend, List<Integer>> byBackend(List<Tensor> tensors) {
        Map<Backend, List<Integer>> out = new LinkedHashMap<>();
        for (int i = 0; i < tensors.size(); i++) out.computeIfAbsent(tensors.get(i).backend(), b -> new ArrayList<>()).add(i);
        return out;
    }

    /** The tensors at the given positions (a part of {@link #byBackend}'s split). */
    public static List<Tensor> pick(List<Tensor> tensors, List<Integer> at) {
        List<Tensor> out = new ArrayList<>(at.size());
        for (int i : at) out.add(tensors.get(i));
        return out;
    }
}
