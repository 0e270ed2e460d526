package dev.magvit4j.ar;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The AR transformer's cached decoding, sampling, training mode and checkpoints, on a small random model. */
class ArTest {

    /** 4x4 tokens, 3 + 5-bit sub-tokens, 2 + 2 layers; heads randomised too (the reference starts them at zero). */
    static Transformer model(long seed) {
        ArConfig c = new ArConfig(32, 4, 2, 2, 16, 5, 3, 5, 1e-5f, 10000f, 32, 0.1f, 0.1f, 0.1f, 0.1f);
        Transformer m = new Transformer(c, new Generator(seed));
        Generator g = new Generator(seed + 1);
        for (dev.magvit4j.nn.Linear h : m.head) dev.magvit4j.nn.Init.normal(h.weight, 0, 0.5, g);
        m.eval();
        return m;
    }

    static Tensor tokens(Generator g, int b, int t, int bits) {
        long[] v = new long[b * t];
        for (int i = 0; i < v.length; i++) v[i] = g.nextInt(1 << bits);
        return Tensor.ofLongs(v, b, t);
    }

    @Test
    void cachedDecodingGivesTheTeacherForcedLogits() {
        Transformer m = model(3);
        Generator g = new Generator(7);
        int b = 2, t = m.config.blockSize();
        Tensor pre = tokens(g, b, t, m.config.preBits()), post = tokens(g, b, t, m.config.postBits());
        Tensor labels = Tensor.ofLongs(new long[] {1, 4}, b);
        Transformer.Logits full = m.forward(pre, post, labels);

        try (var ignored = Autograd.noGrad()) {
            KVCache[] spatial = m.spatialCaches(b), intra = m.factorizedCaches(b);
            Tensor x = m.classEmb.forward(labels).unsqueeze(1);
            for (int pos = 0; pos < t; pos++) {
                Tensor h = m.spatialStep(x, spatial);
                for (KVCache k : intra) k.clear();
                Tensor p = pre.select(1, pos).contiguous(), q = post.select(1, pos).contiguous();
                GradCheck.assertClose("pre logits at " + pos, full.pre().select(1, pos), m.subTokenStep(h, intra, 0), 1e-5);
                GradCheck.assertClose("post logits at " + pos, full.post().select(1, pos), m.subTokenStep(m.preEmb.forward(p).unsqueeze(1), intra, 1), 1e-5);
                x = m.tokenEmbedding(p, q);
            }
        }
    }

    @Test
    void aBatchReproducesImageByImage() {
        Transformer m = model(5);
        Sampler s = new Sampler(m);
        Sampling settings = new Sampling(new Sampling.SubToken(1.0f, 0, 0.9f, 2.0f), new Sampling.SubToken(0.8f, 3, 1f, 1.5f));
        Sampler.Tokens batch = s.sample(new long[] {0, 3, 4}, new long[] {11, 12, 13}, settings, null);
        for (int i = 0; i < 3; i++) {
            Sampler.Tokens alone = s.sample(new long[] {new long[] {0, 3, 4}[i]}, new long[] {11 + i}, settings, null);
            assertArrayEquals(alone.pre().toLongArray(), batch.pre().select(0, i).contiguous().toLongArray(), "pre of sample " + i);
            assertArrayEquals(alone.post().toLongArray(), batch.post().select(0, i).contiguous().toLongArray(), "post of sample " + i);
        }
        // Another seed gives another sample.
        Sampler.Tokens other = s.sample(new long[] {0}, new long[] {99}, settings, null);
        assertFalse(java.util.Arrays.equals(other.post().toLongArray(), batch.post().select(0, 0).contiguous().toLongArray()));
    }

    @Test
    void greedyWithoutGuidanceFollowsTheConditionalArgmax() {
        Transformer m = model(9);
        Sampler.Tokens t = new Sampler(m).sample(new long[] {2, 2}, new long[] {0, 1}, Sampling.greedy(1f, 1f), null);
        // Teacher-forcing the result must reproduce its own argmaxes.
        Transformer.Logits l = m.forward(t.pre(), t.post(), Tensor.ofLongs(new long[] {2, 2}, 2));
        assertArrayEquals(t.pre().toLongArray(), l.pre().argmax(2).toLongArray());
        assertArrayEquals(t.post().toLongArray(), l.post().argmax(2).toLongArray());
        assertArrayEquals(t.pre().select(0, 0).contiguous().toLongArray(), t.pre().select(0, 1).contiguous().toLongArray(), "greedy ignores the seed");
    }

    @Test
    void guidanceOneOnOneSubTokenStillGuidesTheOther() {
        Transformer m = model(4);
        Sampler s = new Sampler(m);
        Sampler.Tokens mixed = s.sample(new long[] {1}, new long[] {0}, Sampling.greedy(1f, 3f), null);
        Sampler.Tokens plain = s.sample(new long[] {1}, new long[] {0}, Sampling.greedy(1f, 1f), null);
        assertEquals(16, mixed.pre().size(1));
        assertFalse(java.util.Arrays.equals(mixed.post().toLongArray(), plain.post().toLongArray()), "guidance 3 on post changes it");
    }

    @Test
    void topKOneAndTinyTopPAreArgmax() {
        float[] row = {0.1f, 2.0f, -1f, 1.9f, 0.5f};
        Generator g = new Generator(1);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, Sampler.draw(row, new Sampling.SubToken(1f, 1, 1f, 1f), g));
            assertEquals(1, Sampler.draw(row, new Sampling.SubToken(1f, 0, 1e-6f, 1f), g));
            int two = Sampler.draw(row, new Sampling.SubToken(1f, 2, 1f, 1f), g);
            assertTrue(two == 1 || two == 3, "top-2 drew " + two);
        }
    }

    @Test
    void drawsFollowTheSoftmax() {
        float[] row = {0f, 1f, 2f, (float) Math.log(0.5)};
        double[] p = new double[4];
        double z = 0;
        for (int j = 0; j < 4; j++) z += Math.exp(row[j] / 0.7);
        for (int j = 0; j < 4; j++) p[j] = Math.exp(row[j] / 0.7) / z;
        int n = 200_000;
        int[] counts = new int[4];
        Generator g = new Generator(3);
        for (int i = 0; i < n; i++) counts[Sampler.draw(row, new Sampling.SubToken(0.7f, 0, 1f, 1f), g)]++;
        for (int j = 0; j < 4; j++) {
            double sd = Math.sqrt(n * p[j] * (1 - p[j]));
            assertTrue(Math.abs(counts[j] - n * p[j]) < 5 * sd, "token " + j + ": " + counts[j] + " draws, expected " + n * p[j]);
        }
        // top-p 0.8 keeps the tokens up to the first whose cumulative probability exceeds 0.8 (2, then 1).
        for (int i = 0; i < 2000; i++) {
            int d = Sampler.draw(row, new Sampling.SubToken(0.7f, 0, 0.8f, 1f), g);
            assertTrue(d == 2 || d == 1, "top-p drew " + d);
        }
    }

    /** Plain sampling (no top-k or top-p) draws through the softmax of the guided logits over the temperature. */
    @Test
    void pickFollowsTheGuidedSoftmax() {
        float[] cond = {0f, 1f, 2f, -1f, 0.5f}, uncond = {0.5f, 0.2f, 1f, 0f, 0f};
        float guidance = 1.5f, temperature = 0.8f;
        Tensor logits = Tensor.of(concat(cond, uncond), 2, 5);
        double[] p = new double[5];
        double z = 0;
        for (int j = 0; j < 5; j++) z += p[j] = Math.exp((uncond[j] + (cond[j] - uncond[j]) * guidance) / temperature);
        Sampling.SubToken s = new Sampling.SubToken(temperature, 0, 1f, guidance);
        Generator[] gens = {new Generator(4)};
        int n = 20_000;
        int[] counts = new int[5];
        for (int i = 0; i < n; i++) counts[(int) Sampler.pick(logits, s, gens, true)[0]]++;
        for (int j = 0; j < 5; j++) {
            double q = p[j] / z, sd = Math.sqrt(n * q * (1 - q));
            assertTrue(Math.abs(counts[j] - n * q) < 5 * sd, "token " + j + ": " + counts[j] + " draws, expected " + n * q);
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void trainingModeAppliesDropoutAndEvalModeDoesNot() {
        Transformer m = model(2);
        Generator g = new Generator(8);
        Tensor pre = tokens(g, 2, 16, 3), post = tokens(g, 2, 16, 5), labels = Tensor.ofLongs(new long[] {0, 1}, 2);
        float[] a = m.forward(pre, post, labels).post().toFloatArray();
        float[] b = m.forward(pre, post, labels).post().toFloatArray();
        assertArrayEquals(a, b, "eval mode is deterministic");
        m.train();
        float[] c = m.forward(pre, post, labels).post().toFloatArray();
        assertFalse(java.util.Arrays.equals(a, c), "dropout changes the training forward");

        // Without dropout, training mode computes what eval mode does.
        Transformer plain = new Transformer(m.config.withoutDropout(), new Generator(0));
        plain.loadStateDict(m.stateDict(), true);
        plain.train();
        GradCheck.assertClose("no-dropout training forward", Tensor.of(a, a.length), Tensor.of(plain.forward(pre, post, labels).post().toFloatArray(), a.length), 1e-6);
    }

    @Test
    void labelDropoutUsesTheNoClassRow() {
        ArConfig c = model(1).config.withDropout(0f, 0f, 0f, 0.9999f);
        Transformer m = new Transformer(c, new Generator(1));
        Generator g = new Generator(2);
        Tensor pre = tokens(g, 1, 16, 3), post = tokens(g, 1, 16, 5);
        m.eval();
        float[] none = m.forward(pre, post, Tensor.ofLongs(new long[] {c.classNum()}, 1)).pre().toFloatArray();
        m.train();
        float[] dropped = m.forward(pre, post, Tensor.ofLongs(new long[] {3}, 1)).pre().toFloatArray();
        assertArrayEquals(none, dropped, 1e-6f);
    }

    @Test
    void badInputsAreNamed() {
        Transformer m = model(1);
        Sampler s = new Sampler(m);
        Sampling greedy = Sampling.greedy(1f, 1f);
        assertTrue(assertThrows(IndexOutOfBoundsException.class, () -> s.sample(new long[] {5}, new long[] {0}, greedy, null)).getMessage().contains("class 5"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.sample(new long[] {1, 2}, new long[] {0}, greedy, null)).getMessage().contains("seeds"));
        Tensor ok = Tensor.ofLongs(new long[16], 1, 16), bad = Tensor.ofLongs(new long[] {8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1, 16);
        assertTrue(assertThrows(IndexOutOfBoundsException.class, () -> m.forward(bad, ok, Tensor.ofLongs(new long[] {0}, 1))).getMessage().contains("pre sub-token 8"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.ofLongs(new long[17], 1, 17), Tensor.ofLongs(new long[17], 1, 17), Tensor.ofLongs(new long[] {0}, 1)))
                .getMessage().contains("17 tokens"));
        assertThrows(IllegalArgumentException.class, () -> new Sampling.SubToken(-1f, 0, 1f, 1f));
        assertThrows(IllegalArgumentException.class, () -> new Sampling.SubToken(1f, 0, 0f, 1f));
        assertThrows(IllegalArgumentException.class, () -> new ArConfig(30, 4, 1, 1, 16, 5, 3, 5, 1e-5f, 1e4f, 32, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new ArConfig(32, 4, 1, 1, 15, 5, 3, 5, 1e-5f, 1e4f, 32, 0, 0, 0, 0));
    }

    @Test
    void savedWeightsLoadBackWithTheirConfig(@TempDir Path dir) throws Exception {
        Transformer m = model(6);
        Path file = dir.resolve("ar.safetensors");
        m.save(file);
        Transformer back = Transformer.load(file, 0, 0);
        assertEquals(m.config.withDropout(0.1f, 0.1f, 0.1f, 0.1f).withLayers(2, 2), back.config.withDropout(0.1f, 0.1f, 0.1f, 0.1f));
        Generator g = new Generator(4);
        Tensor pre = tokens(g, 1, 16, 3), post = tokens(g, 1, 16, 5), labels = Tensor.ofLongs(new long[] {2}, 1);
        assertArrayEquals(m.forward(pre, post, labels).post().toFloatArray(), back.forward(pre, post, labels).post().toFloatArray());
        List<String> names = new ArrayList<>(back.stateDict().keySet());
        assertEquals(new ArrayList<>(m.stateDict().keySet()), names);
    }
}
