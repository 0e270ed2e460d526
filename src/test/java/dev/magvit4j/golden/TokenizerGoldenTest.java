package dev.magvit4j.golden;

import dev.magvit4j.io.Json;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.tokenizer.LookupFreeQuantizer;
import dev.magvit4j.tokenizer.Tokenizer;
import dev.magvit4j.tokenizer.TokenizerConfig;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.testing.Devices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The tokenizer against the reference (goldens/tokenizer): the config from case.json; with the
 * live weights in training mode, the encoder output, codes, indices, reconstruction, losses and
 * the gradient of every parameter; with the EMA weights in eval mode, the encoder output,
 * indices and reconstruction. Weights come from the case's checkpoint.
 */
class TokenizerGoldenTest {

    private static final double OUT = 1e-4, GRAD = 1e-3;

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#all")
    void liveWeightsTrainingModeWithGradients(Device device) throws Exception {
        Devices.use(device);
        Goldens g = Goldens.load("tokenizer");
        Map<String, Tensor> t = g.npz("tensors.npz"), weights = GoldenWeights.load(g);
        TokenizerConfig config = TokenizerConfig.fromJson(Json.object(g.config.get("ddconfig"), "ddconfig"));
        assertEquals(config, TokenizerConfig.infer(weights), "config inferred from the checkpoint's names and shapes");

        Tokenizer tok = new Tokenizer(config);
        tok.load(weights, Tokenizer.Weights.LIVE);
        tok.to(device).train();
        Tensor image = t.get("image").to(device);
        Tensor z = tok.encoder.forward(image);
        LookupFreeQuantizer.Output q = tok.quantize.forward(z, true);
        Tensor rec = tok.decoder.forward(q.quantized());
        GradCheck.assertClose("encoded", t.get("encoded"), z, OUT);
        assertArrayEquals(t.get("quantized").toFloatArray(), q.quantized().toFloatArray(), "quantized");
        assertArrayEquals(t.get("indices").toLongArray(), q.indices().toLongArray(), "indices");
        GradCheck.assertClose("reconstructed", t.get("reconstructed"), rec, OUT);

        Tensor l1 = image.sub(rec).abs().mean();
        Tensor loss = l1.add(q.entropyAuxLoss().mul(0.1f)).add(q.commitment().mul(0.25f));
        scalar(g, "l1", l1);
        scalar(g, "entropy_aux_loss", q.entropyAuxLoss());
        scalar(g, "commitment", q.commitment());
        scalar(g, "loss", loss);

        loss.backward();
        Map<String, Tensor> grads = g.npz("grads.npz"), params = tok.namedParameters();
        assertEquals(grads.keySet(), params.keySet(), "parameter names equal the reference's");
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            Tensor mine = params.get(e.getKey()).grad();
            assertNotNull(mine, "no gradient for " + e.getKey());
            GradCheck.assertClose("grad " + e.getKey(), e.getValue(), mine, GRAD);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#all")
    void emaWeightsEvalMode(Device device) throws Exception {
        Devices.use(device);
        Goldens g = Goldens.load("tokenizer");
        Map<String, Tensor> t = g.npz("tensors.npz");
        Tokenizer tok = Tokenizer.fromStateDict(GoldenWeights.load(g), "", Tokenizer.Weights.EMA_IF_PRESENT).to(device);
        Tokenizer.Tokens tokens = tok.encode(t.get("image"));
        GradCheck.assertClose("encoded_ema", t.get("encoded_ema"), tokens.latent(), OUT);
        assertArrayEquals(t.get("indices_ema").toLongArray(), tokens.indices().toLongArray(), "indices_ema");
        GradCheck.assertClose("reconstructed_ema", t.get("reconstructed_ema"), tok.decode(tokens.indices()), OUT);
        // The factorised sub-tokens decode to the same image.
        GradCheck.assertClose("decode(pre, post)", tok.decode(tokens.indices()), tok.decode(tokens.pre(), tokens.post()), 0);
    }

    private static void scalar(Goldens g, String key, Tensor actual) {
        GradCheck.assertClose(key, new double[] {g.number(key)}, new double[] {actual.item()}, OUT);
    }
}
