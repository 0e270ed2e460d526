package dev.magvit4j.image;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.magvit4j.image.ImageFixtures.pixels;
import static dev.magvit4j.image.ImageFixtures.resource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tensor → 8-bit → PNG as reconstruct.py does it, atomic writes, and evaluation.py's PSNR. */
class ImagesWriteTest {

    @TempDir
    Path dir;

    /** A [3, 1, 256] image holding every 8-bit value, as read() would give it. */
    private static Tensor allLevels() {
        float[] d = new float[3 * 256];
        for (int c = 0; c < 3; c++) for (int p = 0; p < 256; p++) d[c * 256 + p] = Images.toFloat(c == 1 ? 255 - p : p);
        return Tensor.of(d, 3, 1, 256);
    }

    @Test
    void nearestRoundingRoundTripsEveryLevel() throws IOException {
        Tensor t = allLevels();
        Path f = dir.resolve("levels.png");
        Images.writePng(t, f, PixelRounding.NEAREST);
        Tensor back = Images.read(f);
        assertArrayEquals(t.toFloatArray(), back.toFloatArray());
        // and a random image read back from a file survives write + read unchanged
        Tensor again = Images.read(resource("resize_37x23.png"));
        Images.writePng(again, f, PixelRounding.NEAREST);
        assertArrayEquals(pixels(again), pixels(Images.read(f)));
    }

    @Test
    void referenceTruncationLowersLevelsOneTo95ByOne() throws IOException {
        // (float32) (p / 127.5 - 1), then (x + 1) / 2 * 255 in float32 lands just below p for
        // p = 1..95 (e.g. 0.99999994, 94.99999) and truncation drops it to p - 1: what the
        // reference's saved "original" PNGs and its PSNR ground truth contain.
        Tensor t = allLevels();
        Path f = dir.resolve("levels.png");
        Images.writePng(t, f);
        int[] got = pixels(Images.read(f));
        for (int c = 0; c < 3; c++) {
            for (int x = 0; x < 256; x++) {
                int p = c == 1 ? 255 - x : x;
                int expected = p >= 1 && p <= 95 ? p - 1 : p;
                assertEquals(expected, got[c * 256 + x], "level " + p);
            }
        }
        // 0 and 96..255 are fixed points; writing the read-back image again lowers 1..95 once more.
    }

    @Test
    void toImageMatchesCustomToPil() throws IOException {
        // psnr_reconstruction_3x9x11.f32: float32 values incl. -1.7, 1.3, exactly -1 and 1;
        // ..._pil.png: reconstruct.py's custom_to_pil of it (make_fixtures.py).
        Tensor rec = ImageFixtures.f32("psnr_reconstruction_3x9x11.f32", 3, 9, 11);
        BufferedImage img = Images.toImage(rec);
        assertEquals(11, img.getWidth());
        assertEquals(9, img.getHeight());
        int[] expected = pixels(Images.read(resource("psnr_reconstruction_3x9x11_pil.png")));
        int[] ours = new int[3 * 99];
        for (int y = 0; y < 9; y++) for (int x = 0; x < 11; x++) {
            int rgb = img.getRGB(x, y);
            for (int c = 0; c < 3; c++) ours[c * 99 + y * 11 + x] = rgb >> (16 - 8 * c) & 0xFF;
        }
        assertArrayEquals(expected, ours);
        assertEquals(0, ours[0]);       // -1.7 clamps to 0
        assertEquals(255, ours[1]);     // 1.3 clamps to 255
        Path f = dir.resolve("rec.png");
        Images.writePng(rec, f);
        assertArrayEquals(expected, pixels(Images.read(f)));
    }

    @Test
    void psnrMatchesEvaluationPy() throws IOException {
        Tensor gt = Images.read(resource("psnr_original_11x9.png"));
        Tensor rec = ImageFixtures.f32("psnr_reconstruction_3x9x11.f32", 3, 9, 11);
        double expected = Double.parseDouble(ImageFixtures.text("psnr_expected.txt").strip());
        assertEquals(expected, Images.psnr(gt, rec), 1e-9);
        // A batch gives the PSNR of the pooled MSE: two copies of the pair give the same number.
        Tensor g2 = Images.batch(List.of(gt, gt)), r2 = Images.batch(List.of(rec, rec));
        assertEquals(expected, Images.psnr(g2, r2), 1e-9);
        assertEquals(Double.POSITIVE_INFINITY, Images.psnr(gt, gt));
        assertThrows(IllegalArgumentException.class, () -> Images.psnr(gt, Tensor.zeros(3, 9, 10)));
    }

    @Test
    void psnrIsTheUsualEightBitFormula() {
        Generator gen = new Generator(11);
        Tensor a = Tensor.uniform(gen, -1, 1, 3, 16, 16), b = Tensor.uniform(gen, -1, 1, 3, 16, 16);
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double se = 0;
        for (int i = 0; i < x.length; i++) {
            double d = PixelRounding.TRUNCATE.toUint8(x[i]) - PixelRounding.TRUNCATE.toUint8(y[i]);
            se += d * d;
        }
        double usual = 20 * Math.log10(255) - 10 * Math.log10(se / x.length);
        assertEquals(usual, Images.psnr(a, b), 1e-5);
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFiles() throws IOException {
        Path f = dir.resolve("sub/dir/out.png");   // folders are created
        Images.writePng(allLevels(), f);
        assertTrue(Files.isRegularFile(f));
        byte[] before = Files.readAllBytes(f);
        // A failure after the bytes are written (the target is a non-empty folder) keeps nothing.
        Path blocked = dir.resolve("blocked.png");
        Files.createDirectories(blocked.resolve("inside"));
        IOException e = assertThrows(IOException.class, () -> Images.writePng(allLevels(), blocked));
        assertTrue(e.getMessage().startsWith("cannot write " + blocked), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        // A bad tensor fails before anything is touched; the existing file is intact.
        assertThrows(IllegalArgumentException.class, () -> Images.writePng(Tensor.zeros(4, 2, 2), f));
        assertArrayEquals(before, Files.readAllBytes(f));
        // Overwriting replaces the file.
        Images.writePng(Tensor.zeros(3, 2, 2), f);
        assertArrayEquals(new int[] {3, 2, 2}, Images.read(f).shape());
        try (Stream<Path> all = Files.walk(dir)) {
            assertEquals(0, all.filter(p -> p.getFileName().toString().endsWith(".tmp")).count(), "temporary files left");
        }
    }

    @Test
    void toImageNeedsThreeChannels() {
        var e = assertThrows(IllegalArgumentException.class, () -> Images.toImage(Tensor.zeros(1, 3, 4, 4)));
        assertTrue(e.getMessage().contains("[C, H, W]"), e.getMessage());
        assertEquals(0, PixelRounding.TRUNCATE.toUint8(Float.NaN));
        assertEquals(255, PixelRounding.TRUNCATE.toUint8(1f));
        assertEquals(127, PixelRounding.TRUNCATE.toUint8(0f));   // 127.5 truncated
        assertEquals(128, PixelRounding.NEAREST.toUint8(0f));    // 127.5 rounded half up
    }
}
