package dev.magvit4j.cli;

import dev.magvit4j.golden.Goldens;
import dev.magvit4j.image.Images;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.Devices;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.tokenizer.TokenFile;
import dev.magvit4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** encode / decode / reconstruct on files, with the golden case's tokenizer checkpoint. */
class TokenizerCliTest {

    @TempDir
    Path dir;

    private static Path checkpoint() throws Exception {
        return Goldens.load("tokenizer").path("model.ckpt");
    }

    private Path image(String name, int h, int w, long seed) throws Exception {
        Tensor img = Tensor.uniform(new Generator(seed), -1, 1, 3, h, w);
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Images.writePng(img, p);
        return p;
    }

    static String run(String... args) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Main.run(args));
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void encodeDecodeAndReconstructAgreeWithTheApi() throws Exception {
        String ck = checkpoint().toString();
        image("in/a.png", 40, 48, 1);
        image("in/sub/b.png", 36, 32, 2);
        Path tokens = dir.resolve("t.safetensors");
        String out = run("encode", dir.resolve("in").toString(), "--checkpoint", ck, "--resolution", "32", "--batch", "1", "--out", tokens.toString());
        assertTrue(out.contains("encoded 2 image(s) of 32x32 into 16x16"), out);

        TokenFile file = TokenFile.read(tokens);
        assertEquals(List.of("a.png", "sub/b.png"), file.names());
        assertEquals("ema", file.info().get("weights"));
        Tokenizer tok = Tokenizer.load(checkpoint(), Tokenizer.Weights.EMA_IF_PRESENT);
        Tensor a = Images.resizeShorterSideAndCenterCrop(Images.read(dir.resolve("in/a.png")), 32);
        Tokenizer.Tokens t = tok.encode(a.unsqueeze(0));
        assertArrayEquals(t.indices().toLongArray(), file.indices().slice(0, 0, 1).toLongArray());
        assertArrayEquals(t.pre().toLongArray(), file.pre().slice(0, 0, 1).toLongArray());
        assertArrayEquals(t.post().toLongArray(), file.post().slice(0, 0, 1).toLongArray());

        run("decode", tokens.toString(), "--checkpoint", ck, "--out", dir.resolve("dec").toString());
        Tensor decoded = Images.read(dir.resolve("dec/a.png"));
        Tensor expected = Images.read(writeReference(tok.decode(t.indices()).select(0, 0)));
        GradCheck.assertClose("decoded PNG", expected, decoded, 0);
        assertTrue(Files.isRegularFile(dir.resolve("dec/sub_b.png")));

        String rec = run("reconstruct", dir.resolve("in/a.png").toString(), "--checkpoint", ck, "--resolution", "32", "--out", dir.resolve("rec").toString());
        assertTrue(rec.matches("(?s).*a\\.png\\s+PSNR\\s+[0-9.]+ dB.*mean PSNR.*images/s.*"), rec);
        GradCheck.assertClose("reconstructed PNG", decoded, Images.read(dir.resolve("rec/a.png")), 0);
    }

    /**
     * encode and decode with --device: the GPU's tokens are the CPU's (a latent within float
     * rounding of zero could flip one bit, so at most one token in a hundred may differ) and its
     * images the CPU's to within the 8-bit rounding.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void onTheGpuTheCommandsGiveTheCpusTokensAndImages(Device device) throws Exception {
        Devices.use(device);
        String ck = checkpoint().toString();
        image("in/a.png", 32, 32, 4);
        image("in/b.png", 32, 32, 5);
        Path cpu = dir.resolve("cpu.safetensors"), gpu = dir.resolve("gpu.safetensors");
        run("encode", dir.resolve("in").toString(), "--checkpoint", ck, "--out", cpu.toString());
        run("encode", dir.resolve("in").toString(), "--checkpoint", ck, "--out", gpu.toString(), "--device", device.toString());
        long[] want = TokenFile.read(cpu).indices().toLongArray(), got = TokenFile.read(gpu).indices().toLongArray();
        int differ = 0;
        for (int i = 0; i < want.length; i++) differ += want[i] != got[i] ? 1 : 0;
        assertTrue(differ <= want.length / 100, differ + " of " + want.length + " tokens differ between the CPU and " + device);

        run("decode", cpu.toString(), "--checkpoint", ck, "--out", dir.resolve("dec-cpu").toString());
        run("decode", cpu.toString(), "--checkpoint", ck, "--out", dir.resolve("dec-gpu").toString(), "--device", device.toString());
        for (String f : new String[] {"a.png", "b.png"}) {
            GradCheck.assertClose("decoded " + f + " on " + device, Images.read(dir.resolve("dec-cpu").resolve(f)), Images.read(dir.resolve("dec-gpu").resolve(f)), 2.5 / 127.5);
        }
    }

    private Path writeReference(Tensor chw) throws Exception {
        Path p = dir.resolve("expected.png");
        Images.writePng(chw, p);
        return p;
    }

    @Test
    void savedSafetensorsLoadsToTheSameTokenizer() throws Exception {
        Tokenizer tok = Tokenizer.load(checkpoint(), Tokenizer.Weights.LIVE);
        Path st = dir.resolve("tok.safetensors");
        tok.save(st);
        Tokenizer back = Tokenizer.load(st, Tokenizer.Weights.EMA_IF_PRESENT);
        assertEquals(tok.config, back.config);
        tok.stateDict().forEach((k, v) -> GradCheck.assertClose(k, v, back.stateDict().get(k), 0));
    }

    @Test
    void badInputIsAOneLineErrorAndWritesNothing() throws Exception {
        String ck = checkpoint().toString();
        Path img = image("odd.png", 33, 40, 3);
        Path out = dir.resolve("never.safetensors");
        CliException e = assertThrows(CliException.class, () -> Main.run(new String[] {"encode", img.toString(), "--checkpoint", ck, "--no-crop", "--out", out.toString()}));
        assertTrue(e.getMessage().contains("40x33 (width x height)") && e.getMessage().contains("factor 2"), e.getMessage());
        assertFalse(Files.exists(out));
        Path notImage = dir.resolve("x.png");
        Files.writeString(notImage, "not an image");
        Exception e2 = assertThrows(Exception.class, () -> Main.run(new String[] {"encode", notImage.toString(), "--checkpoint", ck}));
        assertTrue(e2.getMessage().contains("x.png"), e2.getMessage());
        assertThrows(CliException.class, () -> Main.run(new String[] {"decode", img.toString(), "--checkpoint", ck, "--bogus"}));
        Exception e3 = assertThrows(Exception.class, () -> Main.run(new String[] {"decode", img.toString(), "--checkpoint", ck}));
        assertFalse(e3.getMessage().contains("\n"), e3.getMessage());
    }
}
