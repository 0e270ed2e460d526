package dev.magvit4j.golden;

import dev.magvit4j.nn.BatchNorm2d;
import dev.magvit4j.nn.Module;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.tokenizer.Discriminator;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.testing.Devices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The PatchGAN discriminator against the reference (goldens/discriminator), in training mode:
 * logits of a real and a fake batch (BatchNorm on batch statistics), hinge + 0.05·LeCAM with the
 * case's EMA values, the gradient of every parameter, and the BatchNorm running
 * statistics after the two passes, from the initial mean 0 and variance 1.
 */
class DiscriminatorGoldenTest {

    private static final double OUT = 1e-4, GRAD = 1e-3;

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#all")
    void trainingModeLogitsLossGradientsAndRunningStats(Device device) throws Exception {
        Devices.use(device);
        Goldens g = Goldens.load("discriminator");
        Map<String, Tensor> t = g.npz("tensors.npz");
        Discriminator d = new Discriminator(t.get("real").size(1), (int) g.number("ndf"), (int) g.number("n_layers"));

        // The checkpoint holds the weights under loss.discriminator.* and the running statistics
        // after the passes; start from PyTorch's initial ones, as the reference did.
        Map<String, Tensor> weights = new LinkedHashMap<>();
        GoldenWeights.load(g).forEach((k, v) -> {
            if (k.startsWith("loss.discriminator.")) weights.put(k.substring("loss.discriminator.".length()), v);
        });
        d.loadStateDict(weights, true);
        for (Module m : batchNorms(d)) {
            BatchNorm2d bn = (BatchNorm2d) m;
            bn.runningMean.backend().fill(bn.runningMean, 0);
            bn.runningVar.backend().fill(bn.runningVar, 1);
        }
        d.to(device).train();

        Tensor real = d.forward(t.get("real").to(device)), fake = d.forward(t.get("fake").to(device));
        GradCheck.assertClose("logits_real", t.get("logits_real"), real, OUT);
        GradCheck.assertClose("logits_fake", t.get("logits_fake"), fake, OUT);

        Tensor hinge = Discriminator.hingeLoss(real, fake);
        // case.json gives the averages in effect when the term is computed (after their update).
        Tensor lecam = new Discriminator.LeCam(0.999f, (float) g.number("lecam_ema_real"), (float) g.number("lecam_ema_fake")).term(real, fake);
        Tensor loss = hinge.add(lecam.mul(0.05f));
        scalar(g, "hinge", hinge);
        scalar(g, "lecam", lecam);
        scalar(g, "loss", loss);

        loss.backward();
        Map<String, Tensor> grads = g.npz("grads.npz"), params = d.namedParameters();
        assertEquals(grads.keySet(), params.keySet(), "parameter names equal the reference's");
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            assertNotNull(params.get(e.getKey()).grad(), "no gradient for " + e.getKey());
            GradCheck.assertClose("grad " + e.getKey(), e.getValue(), params.get(e.getKey()).grad(), GRAD);
        }
        Map<String, Tensor> state = d.stateDict();
        g.npz("running_stats_after.npz").forEach((k, v) -> GradCheck.assertClose(k, v, state.get(k), OUT));
    }

    private static java.util.List<Module> batchNorms(Module m) {
        java.util.List<Module> out = new java.util.ArrayList<>();
        if (m instanceof BatchNorm2d) out.add(m);
        for (Module c : m.children().values()) out.addAll(batchNorms(c));
        return out;
    }

    private static void scalar(Goldens g, String key, Tensor actual) {
        GradCheck.assertClose(key, new double[] {g.number(key)}, new double[] {actual.item()}, OUT);
    }
}
