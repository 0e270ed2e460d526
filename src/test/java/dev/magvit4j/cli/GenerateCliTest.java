package dev.magvit4j.cli;

import dev.magvit4j.ar.ArConfig;
import dev.magvit4j.ar.Transformer;
import dev.magvit4j.image.Images;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.testing.Devices;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.Tokenizer;
import dev.magvit4j.tokenizer.TokenizerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate end to end on a small random AR model and tokenizer saved as magvit4j files. */
class GenerateCliTest {

    @TempDir
    Path dir;

    /** 4x4 tokens of 6 + 12 bits, with random (non-zero) heads so samples depend on the class. */
    private Path arModel() throws Exception {
        ArConfig c = new ArConfig(32, 2, 2, 1, 16, 5, 6, 12, 1e-5f, 10000f, 32, 0.1f, 0.1f, 0.1f, 0.1f);
        Transformer m = new Transformer(c, new Generator(1));
        for (dev.magvit4j.nn.Linear h : m.head) dev.magvit4j.nn.Init.normal(h.weight, 0, 0.3, new Generator(2));
        Path p = dir.resolve("ar.safetensors");
        m.save(p);
        return p;
    }

    private Path tokenizer() throws Exception {
        Generator.global().manualSeed(3);
        Path p = dir.resolve("tok.safetensors");
        new Tokenizer(new TokenizerConfig(32, new int[] {1, 1}, 1, 18, 3, 3)).save(p);
        return p;
    }

    private static String run(String... args) throws Exception {
        return TokenizerCliTest.run(args);
    }

    @Test
    void generatesImagesAGridAndReproducesAnyImageAlone() throws Exception {
        String ar = arModel().toString(), tok = tokenizer().toString();
        String out = run("generate", "--checkpoint", ar, "--tokenizer", tok, "--classes", "1,3", "--per-class", "2", "--seed", "5",
                "--batch", "3", "--out", dir.resolve("a").toString());
        assertTrue(out.contains("generated 4 image(s)"), out);
        for (String f : new String[] {"0000_class1.png", "0001_class1.png", "0002_class3.png", "0003_class3.png", "grid.png"}) {
            assertTrue(Files.isRegularFile(dir.resolve("a").resolve(f)), f);
        }
        Tensor img = Images.read(dir.resolve("a/0002_class3.png"));
        assertArrayEquals(new int[] {3, 8, 8}, img.shape());
        assertEquals(3, Images.read(dir.resolve("a/grid.png")).size(0));
        // Two images of one class with different seeds differ.
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("a/0002_class3.png")), Files.readAllBytes(dir.resolve("a/0003_class3.png"))));

        // Image 2 of that run (class 3, seed 5 + 2) made alone, in another batch size.
        run("generate", "--checkpoint", ar, "--tokenizer", tok, "--classes", "3", "--seed", "7", "--batch", "1", "--out", dir.resolve("b").toString());
        assertArrayEquals(Files.readAllBytes(dir.resolve("a/0002_class3.png")), Files.readAllBytes(dir.resolve("b/0000_class3.png")));

        // Greedy, without guidance, and with explicit per-sub-token settings.
        run("generate", "--checkpoint", ar, "--tokenizer", tok, "--random", "3", "--temperature", "0", "--guidance", "1", "--out", dir.resolve("c").toString());
        run("generate", "--checkpoint", ar, "--tokenizer", tok, "--classes", "0", "--temperature", "1.1,1.0", "--top-k", "100,50", "--top-p", "0.9",
                "--guidance", "1.5,2", "--out", dir.resolve("d").toString());
        assertEquals(4, Files.list(dir.resolve("c")).count());
    }

    /**
     * Greedy sampling on the GPU picks the CPU's tokens (the logits agree to rounding), so the images agree to the 8-bit rounding.
     * No near-tie can flip a pick: along the CPU's path the closest top-two gap of the guided logits is 0.011 with logits
     * up to 7.3 (measured), a thousand times float32 rounding of a different summation order.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void onTheGpuGreedySamplingGivesTheCpusImages(Device device) throws Exception {
        Devices.use(device);
        String ar = arModel().toString(), tok = tokenizer().toString();
        String[] greedy = {"generate", "--checkpoint", ar, "--tokenizer", tok, "--classes", "1,4", "--temperature", "0", "--guidance", "1.5"};
        run(concat(greedy, "--out", dir.resolve("cpu").toString()));
        run(concat(greedy, "--out", dir.resolve("gpu").toString(), "--device", device.toString()));
        for (String f : new String[] {"0000_class1.png", "0001_class4.png"}) {
            dev.magvit4j.testing.GradCheck.assertClose(f + " on " + device, Images.read(dir.resolve("cpu").resolve(f)), Images.read(dir.resolve("gpu").resolve(f)), 2.5 / 127.5);
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badArgumentsAreOneClearLine() throws Exception {
        String ar = arModel().toString(), tok = tokenizer().toString();
        assertTrue(assertThrows(CliException.class, () -> Main.run(new String[] {"generate", "--checkpoint", ar, "--tokenizer", tok, "--classes", "5"}))
                .getMessage().contains("class 5 is out of range"));
        assertTrue(assertThrows(CliException.class, () -> Main.run(new String[] {"generate", "--checkpoint", ar, "--tokenizer", tok}))
                .getMessage().contains("--classes"));
        assertTrue(assertThrows(CliException.class, () -> Main.run(new String[] {"generate", "--checkpoint", ar, "--tokenizer", tok, "--classes", "1", "--top-p", "0"}))
                .getMessage().contains("top-p"));
        assertTrue(assertThrows(CliException.class, () -> Main.run(new String[] {"generate", "--classes", "1"})).getMessage().contains("--checkpoint"));
        // The tokenizer file holds no AR weights: named as such.
        assertTrue(assertThrows(java.io.IOException.class, () -> Main.run(new String[] {"generate", "--checkpoint", tok, "--classes", "1"}))
                .getMessage().contains("no AR transformer weights"));
        // An AR file holds no tokenizer: said so when --tokenizer is missing.
        assertTrue(assertThrows(java.io.IOException.class, () -> Main.run(new String[] {"generate", "--checkpoint", ar, "--classes", "1"}))
                .getMessage().contains("no tokenizer weights"));
    }
}
