package dev.magvit4j.image;

import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.magvit4j.image.ImageFixtures.pixels;
import static dev.magvit4j.image.ImageFixtures.png;
import static dev.magvit4j.image.ImageFixtures.resource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Images#read}: colour types as Pillow's convert("RGB") sees them, and the errors. */
class ImagesReadTest {

    @TempDir
    Path dir;

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private Path write(String name, BufferedImage img, String format) throws IOException {
        Path p = dir.resolve(name);
        assertTrue(ImageIO.write(img, format, p.toFile()), "ImageIO wrote " + format);
        return p;
    }

    /** Planar [3, H, W] pixels of an interleaved list of RGB triples. */
    private static int[] planar(int h, int w, int... rgb) {
        int[] out = new int[3 * h * w];
        for (int i = 0; i < h * w; i++) for (int c = 0; c < 3; c++) out[c * h * w + i] = rgb[3 * i + c];
        return out;
    }

    @Test
    void mappingIsNumpysFloat64DivisionCastToFloat32() {
        for (int p = 0; p < 256; p++) assertEquals((float) (p / 127.5 - 1.0), Images.toFloat(p));
        assertEquals(-1f, Images.toFloat(0));
        assertEquals(1f, Images.toFloat(255));
    }

    @Test
    void rgbPngGivesChwValuesInMinusOneToOne() throws IOException {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        int[][] px = {{0, 128, 255}, {1, 2, 3}, {10, 20, 30}, {255, 0, 0}, {0, 255, 0}, {7, 8, 254}};
        for (int i = 0; i < 6; i++) img.setRGB(i % 3, i / 3, px[i][0] << 16 | px[i][1] << 8 | px[i][2]);
        Tensor t = Images.read(write("rgb.png", img, "png"));
        assertArrayEquals(new int[] {3, 2, 3}, t.shape());
        int[] flat = Arrays.stream(px).flatMapToInt(Arrays::stream).toArray();
        assertArrayEquals(planar(2, 3, flat), pixels(t));
        assertEquals(Images.toFloat(128), t.get(1, 0, 0));
    }

    @Test
    void greyIsReplicatedWithItsRawValues() throws IOException {
        // Java's getRGB would push TYPE_BYTE_GRAY through a linear-gamma colour space (128 -> 186):
        // Pillow replicates the stored value, and so must we.
        BufferedImage img = new BufferedImage(256, 1, BufferedImage.TYPE_BYTE_GRAY);
        for (int x = 0; x < 256; x++) img.getRaster().setSample(x, 0, 0, x);
        int[] p = pixels(Images.read(write("grey.png", img, "png")));
        for (int c = 0; c < 3; c++) for (int x = 0; x < 256; x++) assertEquals(x, p[c * 256 + x]);
        // The same through a JPEG's single-component path (lossy, so only nearly the same values).
        int[] q = pixels(Images.read(write("grey.jpg", img, "jpeg")));
        for (int x = 0; x < 256; x++) {
            assertEquals(q[x], q[256 + x]);
            assertEquals(q[x], q[512 + x]);
            assertTrue(Math.abs(q[x] - x) <= 12, "grey JPEG value " + q[x] + " for " + x);
        }
    }

    @Test
    void alphaIsDroppedNotComposited() throws IOException {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0x00C86432);  // fully transparent (200, 100, 50)
        img.setRGB(1, 0, 0x80010203);
        assertArrayEquals(planar(1, 2, 200, 100, 50, 1, 2, 3), pixels(Images.read(write("rgba.png", img, "png"))));
        // grey + alpha, 8 and 16 bits
        assertArrayEquals(planar(1, 2, 9, 9, 9, 250, 250, 250),
                pixels(Images.read(write("la8.png", png(2, 1, 4, 8, new int[] {9, 0, 250, 255})))));
        assertArrayEquals(planar(1, 2, 156, 156, 156, 0, 0, 0),
                pixels(Images.read(write("la16.png", png(2, 1, 4, 16, new int[] {40000, 0, 255, 65535})))));
    }

    @Test
    void sixteenBitSamplesKeepTheirHighByte() throws IOException {
        // Pillow 9.4 opens 16-bit RGB PNGs keeping the high byte: [0, 255, 256] -> [0, 0, 1],
        // [1000, 40000, 65535] -> [3, 156, 255] (checked with Pillow when writing make_fixtures.py).
        int[] rgb = {0, 255, 256, 1000, 40000, 65535};
        assertArrayEquals(planar(1, 2, 0, 0, 1, 3, 156, 255), pixels(Images.read(write("rgb16.png", png(2, 1, 2, 16, rgb)))));
        int[] rgba = {0, 255, 256, 0, 1000, 40000, 65535, 65535};
        assertArrayEquals(planar(1, 2, 0, 0, 1, 3, 156, 255), pixels(Images.read(write("rgba16.png", png(2, 1, 6, 16, rgba)))));
        // 16-bit grey: the high byte too (Pillow would clip at 255; see Images' javadoc).
        int[] p = pixels(Images.read(write("grey16.png", png(4, 1, 0, 16, new int[] {0, 255, 40000, 65535}))));
        assertArrayEquals(planar(1, 4, 0, 0, 0, 0, 0, 0, 156, 156, 156, 255, 255, 255), p);
    }

    @Test
    void lowBitDepthGreyIsScaledToEightBits() throws IOException {
        assertArrayEquals(planar(1, 4, 0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255),
                pixels(Images.read(write("grey2.png", png(4, 1, 0, 2, new int[] {0, 1, 2, 3})))));
        assertArrayEquals(planar(1, 3, 0, 0, 0, 255, 255, 255, 0, 0, 0),
                pixels(Images.read(write("grey1.png", png(3, 1, 0, 1, new int[] {0, 1, 0})))));
        assertArrayEquals(planar(1, 2, 17, 17, 17, 238, 238, 238),
                pixels(Images.read(write("grey4.png", png(2, 1, 0, 4, new int[] {1, 14})))));
    }

    @Test
    void paletteImagesGoThroughTheirPalette() throws IOException {
        byte[] r = {10, (byte) 200, 0, (byte) 255}, g = {20, 100, 0, (byte) 255}, b = {30, 50, (byte) 255, 0};
        byte[] a = {(byte) 255, 0, (byte) 128, (byte) 255};   // transparency is dropped, as convert("RGB") drops it
        IndexColorModel icm = new IndexColorModel(2, 4, r, g, b, a);
        BufferedImage img = new BufferedImage(4, 1, BufferedImage.TYPE_BYTE_BINARY, icm);
        for (int x = 0; x < 4; x++) img.getRaster().setSample(x, 0, 0, 3 - x);
        int[] expected = planar(1, 4, 255, 255, 0, 0, 0, 255, 200, 100, 50, 10, 20, 30);
        assertArrayEquals(expected, pixels(Images.read(write("palette.png", img, "png"))));
        BufferedImage img8 = new BufferedImage(4, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 4, r, g, b, a));
        for (int x = 0; x < 4; x++) img8.getRaster().setSample(x, 0, 0, 3 - x);
        assertArrayEquals(expected, pixels(Images.read(write("palette.gif", img8, "gif"))));
    }

    @Test
    void jpegPixelsMatchPillow() throws IOException {
        // photo_33x21.jpg (4:2:0, quality 90) and Pillow 9.4's decoding of it (make_fixtures.py).
        int[] ours = pixels(Images.read(resource("photo_33x21.jpg")));
        int[] pil = pixels(Images.read(resource("photo_33x21_pil.png")));
        assertEquals(0, maxAbsDiff(ours, pil), "ImageIO vs Pillow JPEG decoding, max |diff| in 8-bit levels");
    }

    @Test
    void cmykJpegConvertsLikePillow() throws IOException {
        int[] ours = pixels(Images.read(resource("cmyk_10x12.jpg")));
        int[] pil = pixels(Images.read(resource("cmyk_10x12_pil.png")));
        assertEquals(0, maxAbsDiff(ours, pil), "CMYK JPEG -> RGB vs Pillow, max |diff| in 8-bit levels");
    }

    static int maxAbsDiff(int[] a, int[] b) {
        assertEquals(a.length, b.length, "sizes");
        int m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    // ---------------------------------------------------------------- errors

    private static void assertOneLineNaming(IOException e, Path file, String... words) {
        String m = e.getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        assertTrue(m.startsWith(file.toString()), "names the file: " + m);
        for (String w : words) assertTrue(m.contains(w), "mentions '" + w + "': " + m);
    }

    @Test
    void missingFileDirectoryAndEmptyFile() throws IOException {
        Path missing = dir.resolve("nope.png");
        assertOneLineNaming(assertThrows(IOException.class, () -> Images.read(missing)), missing, "no such file");
        assertOneLineNaming(assertThrows(IOException.class, () -> Images.read(dir)), dir, "directory");
        Path empty = write("empty.png", new byte[0]);
        assertOneLineNaming(assertThrows(IOException.class, () -> Images.read(empty)), empty, "empty");
    }

    @Test
    void nonImage() throws IOException {
        Path text = write("notes.png", "this is plain text, not a picture\n".repeat(20).getBytes());
        assertOneLineNaming(assertThrows(IOException.class, () -> Images.read(text)), text, "not an image");
    }

    @Test
    void truncatedPngAndJpeg() throws IOException {
        BufferedImage img = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 48; y++) for (int x = 0; x < 64; x++) img.setRGB(x, y, (x * 4) << 16 | (y * 5) << 8 | ((x * y) & 255));
        for (String format : new String[] {"png", "jpeg"}) {
            Path whole = write("whole." + format, img, format);
            byte[] bytes = Files.readAllBytes(whole);
            Images.read(whole);   // the intact file reads
            for (int keep : new int[] {bytes.length / 2, bytes.length - 20}) {
                Path cut = write("cut" + keep + "." + format, Arrays.copyOf(bytes, keep));
                IOException e = assertThrows(IOException.class, () -> Images.read(cut), format + " cut to " + keep);
                assertOneLineNaming(e, cut, "truncated");
            }
        }
    }
}
