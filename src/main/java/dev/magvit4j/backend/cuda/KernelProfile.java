package dev.magvit4j.backend.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.CUstream;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.magvit4j.backend.cuda.Cuda.check;
import static jcuda.driver.JCudaDriver.*;

/**
 * GPU time per kernel of the work run inside {@link CudaDevice#profile}: a pair of CUDA events
 * recorded on the stream around each launch, read once the work is done. Recording costs the
 * host a few microseconds per launch, so a profiled run is slower than a timed one; what it is
 * for is where the GPU's time goes.
 */
public final class KernelProfile {

    /** One kernel's launches (module/kernel) and their summed GPU time. */
    public record Entry(String kernel, int launches, double ms) {}

    private record Span(String kernel, CUevent start, CUevent end) {}

    private final List<Span> spans = new ArrayList<>();

    KernelProfile() {}

    /** Records the start of a launch on the stream. */
    CUevent begin(CUstream stream) {
        CUevent e = new CUevent();
        check(cuEventCreate(e, 0), "cuEventCreate");
        check(cuEventRecord(e, stream), "cuEventRecord");
        return e;
    }

    /** Records the end of the launch begun with start. */
    void end(String kernel, CUevent start, CUstream stream) {
        CUevent e = new CUevent();
        check(cuEventCreate(e, 0), "cuEventCreate");
        check(cuEventRecord(e, stream), "cuEventRecord");
        spans.add(new Span(kernel, start, e));
    }

    /** The kernels by summed time, longest first; call once the stream has finished. Frees the events. */
    List<Entry> entries() {
        Map<String, double[]> byKernel = new LinkedHashMap<>();  // launches, ms
        float[] ms = new float[1];
        for (Span s : spans) {
            check(cuEventElapsedTime(ms, s.start, s.end), "cuEventElapsedTime");
            double[] sum = byKernel.computeIfAbsent(s.kernel, k -> new double[2]);
            sum[0]++;
            sum[1] += ms[0];
            cuEventDestroy(s.start);
            cuEventDestroy(s.end);
        }
        spans.clear();
        List<Entry> out = new ArrayList<>();
        byKernel.forEach((k, v) -> out.add(new Entry(k, (int) v[0], v[1])));
        out.sort(Comparator.comparingDouble(Entry::ms).reversed());
        return out;
    }
}
