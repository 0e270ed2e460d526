package dev.magvit4j.backend.cuda;

import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.Devices;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The GPU's group norm in blocks of groups sized to L2 ({@link CudaNorm}, kernels/norm.cu)
 * against the CPU, forward and backward: one group per block, blocks that start inside a
 * sample (where a per-sample affine table must still be read at the right sample), one block
 * for all, and groups of several chunks; every affine form, with and without the fused SiLU.
 * Fresh device memory is poisoned with NaN in the build, so an element no block writes shows up.
 */
class CudaNormTest {

    private static final double TOL = 1e-4;
    private final Generator gen = new Generator(91);
    private final Backend cpu = Backends.cpu();

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void groupsInBlocksMatchTheCpu(Device device) {
        Devices.use(device);
        CudaBackend gpu = (CudaBackend) Backends.of(device);
        // {B, C, H, W, groups}: rows of 8 floats (float4) and of 15 (scalar), 6 and 8 groups in all;
        // then groups of 3 chunks (forward) and rows of 2 (backward), so partial sums have a stride.
        int[][] configs = {{2, 6, 2, 4, 3}, {2, 8, 3, 5, 4}, {2, 4, 48, 48, 2}};
        for (int[] c : configs) {
            int b = c[0], ch = c[1], groups = c[4], rows = b * groups, n = ch / groups * c[2] * c[3];
            Tensor x = Tensor.randn(gen, b, ch, c[2], c[3]).mul(3f).add(1f);
            Tensor[][] affines = {{null, null}, {Tensor.randn(gen, ch), Tensor.randn(gen, ch)}, {Tensor.randn(gen, b, ch), Tensor.randn(gen, b, ch)}};
            // {bytes per block, blocks expected}: one group each; 3 and 4 groups (in each config some block
            // starts mid-sample); all; and too few bytes for one group, which takes one block for all.
            long[][] budgets = {{4L * n, rows}, {3 * 4L * n, (rows + 2) / 3}, {4 * 4L * n, (rows + 3) / 4}, {Long.MAX_VALUE / 4, 1}, {1, 1}};
            for (Tensor[] affine : affines) {
                for (boolean silu : new boolean[] {false, true}) {
                    Tensor[] want = cpu.groupNorm(x, groups, 1e-5f, affine[0], affine[1], silu);
                    for (long[] budget : budgets) {
                        String what = "group norm " + Arrays.toString(c) + ", affine " + (affine[0] == null ? "none" : Arrays.toString(affine[0].shape()))
                                + (silu ? ", silu" : "") + ", " + budget[0] + " bytes per block";
                        Tensor[][] got = new Tensor[1][];
                        List<KernelProfile.Entry> kernels = gpu.device.profile(() -> got[0] = CudaNorm.groupNorm(gpu, x.to(device), groups, 1e-5f,
                                affine[0] == null ? null : affine[0].to(device), affine[1] == null ? null : affine[1].to(device), silu, budget[0]));
                        assertEquals(budget[1], kernels.stream().filter(e -> e.kernel().startsWith("norm/gn_apply")).mapToInt(KernelProfile.Entry::launches).sum(),
                                what + ": " + kernels);
                        for (int i = 0; i < 3; i++) GradCheck.assertClose(what + ", output " + i, want[i], got[0][i].to(Device.CPU), TOL);

                        // The backward from the CPU's statistics, in blocks of the same size (dy and x: twice the bytes, so half the groups).
                        Tensor dy = Tensor.randn(gen, x.shape());
                        Tensor[] wantGrads = cpu.groupNormBackward(dy, x, want[1], want[2], groups, affine[0], affine[1], silu);
                        kernels = gpu.device.profile(() -> got[0] = CudaNorm.groupNormBackward(gpu, dy.to(device), x.to(device), want[1].to(device), want[2].to(device),
                                groups, affine[0] == null ? null : affine[0].to(device), affine[1] == null ? null : affine[1].to(device), silu, 2 * budget[0]));
                        assertEquals(budget[1], kernels.stream().filter(e -> e.kernel().startsWith("norm/gn_backward_dx")).mapToInt(KernelProfile.Entry::launches).sum(),
                                what + ", backward: " + kernels);
                        for (int i = 0; i < 3; i++) {
                            if (wantGrads[i] != null) GradCheck.assertClose(what + ", backward output " + i, wantGrads[i], got[0][i].to(Device.CPU), TOL);
                        }
                    }
                }
            }
        }
    }
}
