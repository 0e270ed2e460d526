package dev.magvit4j.golden;

import dev.magvit4j.ar.ArConfig;
import dev.magvit4j.ar.Sampler;
import dev.magvit4j.ar.Sampling;
import dev.magvit4j.ar.Transformer;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.testing.Devices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The AR transformer against the reference (goldens/ar): config from case.json, weights from the
 * case's checkpoint; in eval mode the logits of both heads, the loss, the gradient of every
 * parameter, and greedy guided decoding (argmax at every sub-token) token for token.
 */
class ArGoldenTest {

    private static final double OUT = 1e-4, GRAD = 1e-3;

    /** The case's model.ckpt through the checkpoint loader, with the head count and block size of case.json (not visible in weights). */
    static Transformer load(Goldens g) throws Exception {
        ArConfig config = ArConfig.fromJson(dev.magvit4j.io.Json.object(g.config.get("config"), "config"));
        Transformer model = Transformer.load(g.path("model.ckpt"), config.nHead(), config.blockSize());
        assertEquals(config.withoutDropout(), model.config.withoutDropout(), "architecture read off the checkpoint");
        return model;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#all")
    void logitsLossAndGradients(Device device) throws Exception {
        Devices.use(device);
        Goldens g = Goldens.load("ar");
        Map<String, Tensor> t = g.npz("tensors.npz");
        Transformer model = load(g).to(device);
        Tensor pre = t.get("idx_pre"), post = t.get("idx_post");
        Transformer.Logits logits = model.forward(pre, post, t.get("cls"));
        GradCheck.assertClose("logits_pre", t.get("logits_pre"), logits.pre(), OUT);
        GradCheck.assertClose("logits_post", t.get("logits_post"), logits.post(), OUT);

        Tensor loss = model.loss(logits, pre, post);
        GradCheck.assertClose("loss", new double[] {g.number("loss")}, new double[] {loss.item()}, OUT);
        loss.backward();
        Map<String, Tensor> grads = g.npz("grads.npz"), params = model.namedParameters();
        assertEquals(grads.size(), params.size(), "parameter count");
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            Tensor p = params.get(e.getKey().substring("transformer.".length()));
            assertNotNull(p, "no parameter " + e.getKey());
            assertNotNull(p.grad(), "no gradient for " + e.getKey());
            GradCheck.assertClose("grad " + e.getKey(), e.getValue(), p.grad(), GRAD);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#all")
    void greedyGuidedDecoding(Device device) throws Exception {
        Devices.use(device);
        Goldens g = Goldens.load("ar");
        Map<String, Tensor> t = g.npz("tensors.npz");
        Transformer model = load(g).to(device);
        Tensor cls = t.get("gen_cls");
        long[] classes = cls.toLongArray();
        float[] cfg = guidance(g);
        Sampling greedy = Sampling.greedy(cfg[0], cfg[1]);
        Sampler.Tokens tokens = new Sampler(model).sample(classes, new long[classes.length], greedy, null);
        assertArrayEquals(t.get("greedy_cfg_pre").toLongArray(), tokens.pre().toLongArray(), "greedy pre sub-tokens");
        assertArrayEquals(t.get("greedy_cfg_post").toLongArray(), tokens.post().toLongArray(), "greedy post sub-tokens");
    }

    /** The guidance scales of the greedy run: case.json's cfg_scale, or as its "greedy" note states them ("cfg_scale [1.5, 2.0]"). */
    static float[] guidance(Goldens g) {
        Object structured = g.config.get("cfg_scale");
        if (structured != null) {
            java.util.List<?> l = (java.util.List<?>) structured;
            return new float[] {((Number) l.get(0)).floatValue(), ((Number) l.get(1)).floatValue()};
        }
        Object note = g.config.get("greedy");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("cfg_scale \\[([0-9.]+),\\s*([0-9.]+)\\]").matcher(String.valueOf(note));
        if (!m.find()) throw new AssertionError("case.json states no cfg_scale for the greedy run: " + note);
        return new float[] {Float.parseFloat(m.group(1)), Float.parseFloat(m.group(2))};
    }
}
