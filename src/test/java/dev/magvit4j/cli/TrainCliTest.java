package dev.magvit4j.cli;

import dev.magvit4j.ar.Transformer;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.testing.Devices;
import dev.magvit4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training commands end to end: train a tokenizer, train an AR model with it, generate from both checkpoints; and the quick demo. */
class TrainCliTest {

    @TempDir
    Path dir;

    private static final String[] TINY_TOKENIZER = {"--ch", "32", "--ch-mult", "1,1", "--num-res-blocks", "1", "--image-size", "16", "--batch-size", "2",
            "--disc-channels", "8", "--disc-layers", "2", "--workers", "1"};

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void trainTokenizerThenArThenGenerate() throws Exception {
        Path tok = dir.resolve("tok"), ar = dir.resolve("ar");
        TokenizerCliTest.run(concat(new String[] {"train-tokenizer", "--builtin", "16", "--out", tok.toString(), "--steps", "2", "--checkpoint-every", "1", "--keep", "1"}, TINY_TOKENIZER));
        Path tokCkpt = tok.resolve("checkpoints/step-00000002.safetensors");
        assertTrue(Files.isRegularFile(tokCkpt));
        assertEquals(1, Files.list(tok.resolve("checkpoints")).count(), "--keep 1");
        assertTrue(Files.isRegularFile(tok.resolve("pictures/reconstructions-step-00000002.png")));
        assertTrue(Files.isRegularFile(tok.resolve("plots/tokenizer-codebook.png")));
        Tokenizer t = Tokenizer.load(tokCkpt, Tokenizer.Weights.EMA_IF_PRESENT);   // a training checkpoint is a tokenizer checkpoint
        assertEquals(2, t.config.downsampling());

        TokenizerCliTest.run("train-ar", "--tokenizer", tokCkpt.toString(), "--builtin", "16", "--image-size", "16", "--out", ar.toString(), "--steps", "2",
                "--dim", "32", "--heads", "2", "--spatial-layers", "1", "--factorized-layers", "1", "--batch-size", "2", "--workers", "1");
        Path arCkpt = ar.resolve("checkpoints/step-00000002.safetensors");
        assertEquals(64, Transformer.load(arCkpt, 0, 0).config.blockSize(), "heads and block size travel in the metadata");
        assertTrue(Files.isRegularFile(ar.resolve("pictures/samples-step-00000002.png")));

        String out = TokenizerCliTest.run("generate", "--checkpoint", arCkpt.toString(), "--tokenizer", tokCkpt.toString(), "--classes", "0,7",
                "--out", dir.resolve("gen").toString());
        assertTrue(out.contains("generated 2 image(s)"), out);

        // Tokens from a file made by encode: classes from the subfolders.
        TokenizerCliTest.run(concat(new String[] {"train-tokenizer", "--builtin", "16", "--out", tok.toString(), "--steps", "3"}, TINY_TOKENIZER));
        assertTrue(Files.isRegularFile(tok.resolve("checkpoints/step-00000003.safetensors")), "a second run resumes and continues to --steps");
        for (int i = 0; i < 4; i++) {
            dev.magvit4j.image.Images.writePng(new dev.magvit4j.data.BuiltinImages(1, 16, 4).image(i), dir.resolve("imgs/" + (i % 2 == 0 ? "even" : "odd") + "/" + i + ".png"));
        }
        Path tokens = dir.resolve("t.safetensors");
        TokenizerCliTest.run("encode", dir.resolve("imgs").toString(), "--checkpoint", tokCkpt.toString(), "--no-crop", "--out", tokens.toString());
        TokenizerCliTest.run("train-ar", "--tokens", tokens.toString(), "--out", dir.resolve("ar2").toString(), "--steps", "1",
                "--dim", "32", "--heads", "2", "--spatial-layers", "1", "--factorized-layers", "1", "--batch-size", "2");
        assertEquals(2, Transformer.load(dir.resolve("ar2/checkpoints/step-00000001.safetensors"), 0, 0).config.classNum());

        // Both stages straight from the image folder.
        TokenizerCliTest.run(concat(new String[] {"train-tokenizer", "--data", dir.resolve("imgs").toString(), "--out", dir.resolve("tok3").toString(), "--steps", "1"}, TINY_TOKENIZER));
        TokenizerCliTest.run("train-ar", "--data", dir.resolve("imgs").toString(), "--tokenizer", tokCkpt.toString(), "--image-size", "16", "--out", dir.resolve("ar3").toString(),
                "--steps", "1", "--dim", "32", "--heads", "2", "--spatial-layers", "1", "--factorized-layers", "1", "--batch-size", "2");
        assertTrue(Files.isRegularFile(dir.resolve("tok3/checkpoints/step-00000001.safetensors")));
        assertEquals(2, Transformer.load(dir.resolve("ar3/checkpoints/step-00000001.safetensors"), 0, 0).config.classNum(), "classes: the subfolders");
    }

    @Test
    void badTrainingOptionsAreOneLineErrors() {
        CliException e = assertThrows(CliException.class, () -> Main.run(new String[] {"train-tokenizer", "--out", dir.toString()}));
        assertTrue(e.getMessage().contains("--data FOLDER"), e.getMessage());
        IllegalArgumentException u = assertThrows(IllegalArgumentException.class,
                () -> Main.run(new String[] {"train-tokenizer", "--builtin", "4", "--out", dir.toString(), "--batchsize", "3"}));
        assertTrue(u.getMessage().contains("batchsize"), u.getMessage());
        CliException ar = assertThrows(CliException.class, () -> Main.run(new String[] {"train-ar", "--builtin", "4"}));
        assertTrue(ar.getMessage().contains("--tokens"), ar.getMessage());
    }

    /** Both stages with --device: training, on-the-fly encoding, pictures and sampling on the GPU. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void bothStagesTrainOnTheGpu(Device device) throws Exception {
        Devices.use(device);
        Path tok = dir.resolve("tok"), ar = dir.resolve("ar");
        TokenizerCliTest.run(concat(new String[] {"train-tokenizer", "--builtin", "4", "--out", tok.toString(), "--steps", "1", "--device", device.toString()}, TINY_TOKENIZER));
        assertTrue(Files.isRegularFile(tok.resolve("pictures/reconstructions-step-00000001.png")));
        Path tokCkpt = tok.resolve("checkpoints/step-00000001.safetensors");
        TokenizerCliTest.run("train-ar", "--tokenizer", tokCkpt.toString(), "--builtin", "4", "--image-size", "16", "--out", ar.toString(), "--steps", "1",
                "--dim", "32", "--heads", "2", "--spatial-layers", "1", "--factorized-layers", "1", "--batch-size", "2", "--workers", "1", "--device", device.toString());
        assertTrue(Files.isRegularFile(ar.resolve("pictures/samples-step-00000001.png")));
    }

    @Test
    void quickDemoWritesEveryPicture() throws Exception {
        String out = TokenizerCliTest.run("demo", "--quick", "--out", dir.toString());
        assertTrue(out.contains("held-out PSNR"), out);
        for (String f : new String[] {"reconstructions.png", "samples.png", "summary.txt", "plots/tokenizer-loss.png", "plots/tokenizer-codebook.png", "plots/ar-loss.png"}) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
    }
}
