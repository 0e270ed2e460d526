package dev.magvit4j.golden;

import dev.magvit4j.ops.Lfq;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.testing.Devices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The lookup-free quantiser against the reference's outputs (goldens/lfq): codes, indices and
 * factorised indices exactly; the entropy terms and commitment to 1e-4; the gradient of
 * 0.1·entropy_aux + 0.25·commitment + Σ quantized·upstream to 1e-3.
 */
class LfqGoldenTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#all")
    void matchesReference(Device device) throws Exception {
        Devices.use(device);
        Goldens g = Goldens.load("lfq");
        Map<String, Tensor> t = g.npz("tensors.npz");
        int bits = (int) g.number("codebook_bits");
        int[] groups = g.ints("factorized_bits");
        float temperature = (float) g.number("entropy_temperature");

        Tensor x = t.get("x").to(device).requiresGrad(true);
        assertEquals(bits, x.size(1), "case.json codebook_bits vs the channels of x");
        Lfq.Quantized q = Lfq.quantize(x, groups);
        assertArrayEquals(t.get("quantized").toFloatArray(), q.values().toFloatArray(), "quantized");
        assertArrayEquals(t.get("indices").toLongArray(), q.indices().toLongArray(), "indices");
        assertArrayEquals(t.get("indices_pre").toLongArray(), q.groupIndices()[0].toLongArray(), "indices_pre");
        assertArrayEquals(t.get("indices_post").toLongArray(), q.groupIndices()[1].toLongArray(), "indices_post");

        Tensor entropy = Lfq.entropy(x, temperature);
        Tensor aux = entropy.select(0, 0).sub(entropy.select(0, 1));
        Tensor commitment = Lfq.commitment(x, q.values());
        scalar("per_sample_entropy", g, entropy.get(0));
        scalar("codebook_entropy", g, entropy.get(1));
        scalar("entropy_aux_loss", g, aux.item());
        scalar("commitment", g, commitment.item());

        Tensor total = aux.mul(0.1f).add(commitment.mul(0.25f)).add(q.values().mul(t.get("upstream").to(device)).sum());
        scalar("total", g, total.item());
        total.backward();
        GradCheck.assertClose("grad_x", t.get("grad_x"), x.grad(), 1e-3);
    }

    private static void scalar(String key, Goldens g, float actual) {
        double expected = g.number(key);
        GradCheck.assertClose(key, new double[] {expected}, new double[] {actual}, 1e-4);
    }
}
