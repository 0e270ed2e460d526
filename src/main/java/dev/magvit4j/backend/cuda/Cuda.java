package dev.magvit4j.backend.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether CUDA can be used here, and the devices. The first question loads JCuda's driver
 * binding (which needs {@code libcuda.so.1}, the NVIDIA driver) and calls {@code cuInit}; every
 * failure on the way (no JCuda jar, no driver, a driver too old for the kernels' PTX, no GPU, a
 * build without kernels) becomes a {@link Status} with a one-line reason, never an exception at
 * class load.
 */
public final class Cuda {

    private Cuda() {}

    /** available, or the reason why not; the device count when available. */
    public record Status(boolean available, String reason, int deviceCount, int driverVersion) {
        @Override
        public String toString() {
            if (!available) return "CUDA unavailable: " + reason;
            return "CUDA driver " + versionString(driverVersion) + ", " + deviceCount + " device(s)";
        }
    }

    private static Status status;
    private static final List<CudaDevice> devices = new ArrayList<>();

    public static synchronized Status status() {
        if (status == null) status = probe();
        return status;
    }

    public static boolean available() {
        return status().available();
    }

    /** Device N, set up on first use; an error says why CUDA or that device is not usable. */
    public static synchronized CudaDevice device(int index) {
        Status s = status();
        if (!s.available()) throw new CudaError(s + "; use --device cpu");
        if (index >= s.deviceCount()) {
            throw new CudaError("no device cuda:" + index + ": this machine has " + s.deviceCount() + " CUDA device(s) (cuda:0 to cuda:" + (s.deviceCount() - 1) + ")");
        }
        while (devices.size() <= index) devices.add(null);
        if (devices.get(index) == null) devices.set(index, new CudaDevice(index));
        return devices.get(index);
    }

    private static Status probe() {
        if (Cuda.class.getResource("/kernels/copy.ptx") == null) {
            return unavailable("this build of magvit4j has no GPU kernels (nvcc was not found when it was built)");
        }
        String driver = System.getProperty("magvit4j.cuda.driver", "");
        if (!driver.isEmpty()) {
            // A driver library other than the system's libcuda.so.1 (another install, or the test
            // suite's CPU emulator): loaded first, it satisfies JCuda's dependency by its soname.
            if (!Files.isRegularFile(Path.of(driver))) return unavailable("the CUDA driver library " + driver + " given by -Dmagvit4j.cuda.driver does not exist");
            try {
                System.load(Path.of(driver).toAbsolutePath().toString());
            } catch (UnsatisfiedLinkError e) {
                return unavailable("the CUDA driver library " + driver + " given by -Dmagvit4j.cuda.driver could not be loaded: " + firstLine(e.getMessage()));
            }
        }
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int rc = JCudaDriver.cuInit(0);
            if (rc == CUresult.CUDA_ERROR_NO_DEVICE) return unavailable("no CUDA GPU found");
            if (rc != CUresult.CUDA_SUCCESS) return unavailable("cuInit failed with " + CUresult.stringFor(rc) + " (is the NVIDIA driver working? try nvidia-smi)");
            int[] count = new int[1];
            int[] version = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            JCudaDriver.cuDriverGetVersion(version);
            if (count[0] == 0) return unavailable("no CUDA GPU found");
            String isa = kernelsPtxIsa();
            int needed = requiredDriverVersion(isa);
            if (version[0] < needed) {
                return unavailable("the NVIDIA driver supports CUDA " + versionString(version[0]) + ", but this build's kernels (PTX ISA " + isa
                        + ") need CUDA " + versionString(needed) + " or newer: update the NVIDIA driver");
            }
            return new Status(true, "", count[0], version[0]);
        } catch (UnsatisfiedLinkError e) {
            return unavailable("the NVIDIA driver library libcuda.so.1 could not be loaded (no NVIDIA driver on this machine)");
        } catch (LinkageError e) {
            return unavailable("JCuda could not be loaded (" + e.getClass().getSimpleName() + ": " + firstLine(e.getMessage()) + ")");
        }
    }

    /** The PTX ISA version of the packaged kernels, e.g. "8.0" (kernels/build.sh declares every file so). */
    public static String kernelsPtxIsa() {
        try (InputStream in = Cuda.class.getResourceAsStream("/kernels/copy.ptx")) {
            if (in == null) throw new IllegalStateException("this build of magvit4j has no GPU kernels (nvcc was not found when it was built)");
            String head = new String(in.readNBytes(4096), StandardCharsets.US_ASCII);
            Matcher m = Pattern.compile("(?m)^\\.version (\\d+\\.\\d+)$").matcher(head);
            if (!m.find()) throw new IllegalStateException("kernels/copy.ptx has no .version line");
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernels/copy.ptx", e);
        }
    }

    /**
     * The CUDA version (as cuDriverGetVersion gives it: 1000·major + 10·minor) a driver needs to
     * load PTX of ISA x.y: the release that introduced it. ISA 7.x came with CUDA 11.x and 8.0-8.5
     * with 12.0-12.5 (x + 4 . y), then 8.6-8.8 with 12.7-12.9 and 9.0 with 13.0.
     */
    public static int requiredDriverVersion(String isa) {
        String[] parts = isa.split("\\.");
        int major = Integer.parseInt(parts[0]), minor = Integer.parseInt(parts[1]);
        if (major == 8 && minor >= 6) return 12000 + (minor + 1) * 10;
        return (major + 4) * 1000 + minor * 10;
    }

    /** 12040 -> "12.4". */
    private static String versionString(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }

    private static Status unavailable(String reason) {
        return new Status(false, reason, 0, 0);
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Fails with a CudaError naming the call when rc is not CUDA_SUCCESS. */
    static void check(int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS) throw new CudaError("CUDA error " + CUresult.stringFor(rc) + " in " + call);
    }
}
