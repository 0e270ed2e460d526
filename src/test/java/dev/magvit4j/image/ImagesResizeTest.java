package dev.magvit4j.image;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.util.List;

import static dev.magvit4j.image.ImageFixtures.pixels;
import static dev.magvit4j.image.ImageFixtures.resource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resize + centre crop against the reference pipeline (PIL convert("RGB") → torchvision
 * Resize(size) → CenterCrop((size, size)), outputs made once by make_fixtures.py with Pillow 9.4.0
 * and torchvision 0.14.1), its geometry, and the no-crop size check, batching and grids.
 */
class ImagesResizeTest {

    /** Input fixture, target size: the expected output is resize_WxH_to_S.png. */
    @ParameterizedTest
    @CsvSource({
        "37x23, 8",    // down-scaling by 2.9, antialiased
        "37x23, 16",
        "37x23, 23",   // shorter side already the size: crop only
        "37x23, 40",   // up-scaling
        "19x31, 7",    // tall input, odd sizes
        "19x31, 19",
        "19x31, 32",
        "61x30, 10",   // down-scaling by 3
    })
    void matchesTorchvisionOnPillowExactly(String input, int size) throws IOException {
        Tensor in = Images.read(resource("resize_" + input + ".png"));
        Tensor out = Images.resizeShorterSideAndCenterCrop(in, size);
        assertArrayEquals(new int[] {3, size, size}, out.shape());
        int[] expected = pixels(Images.read(resource("resize_" + input + "_to_" + size + ".png")));
        assertEquals(0, ImagesReadTest.maxAbsDiff(pixels(out), expected), "max |diff| in 8-bit levels vs the reference");
        assertArrayEquals(expected, pixels(out));
    }

    @ParameterizedTest
    @CsvSource({
        // h, w, size, resized h, resized w
        "23, 37, 16, 16, 25",    // int(16 * 37 / 23) = int(25.7)
        "31, 19, 7, 11, 7",      // int(7 * 31 / 19) = int(11.4)
        "30, 61, 10, 10, 20",    // int(20.33)
        "5, 5, 8, 8, 8",         // square, up
        "375, 500, 256, 256, 341",   // a typical ImageNet image
        "500, 333, 256, 384, 256",   // int(384.38)
        "2, 3, 5, 5, 7",         // up-scaling a tiny image: int(7.5)
    })
    void resizedSizeIsTorchvisions(int h, int w, int size, int rh, int rw) {
        assertArrayEquals(new int[] {rh, rw}, Images.resizedSize(h, w, size));
    }

    /** An image whose pixel value encodes its column (or row) index. */
    private static Tensor ramp(int h, int w, boolean columns) {
        float[] d = new float[3 * h * w];
        for (int c = 0; c < 3; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            d[(c * h + y) * w + x] = Images.toFloat(columns ? x : y);
        }
        return Tensor.of(d, 3, h, w);
    }

    @ParameterizedTest
    @CsvSource({
        // w, expected first column when cropping width w to 4 (shorter side 4 already: no resize)
        "4, 0", "5, 0", "6, 1", "7, 2", "8, 2", "9, 2", "11, 4",
    })
    void centreCropRoundsHalvesToEven(int w, int left) {
        // (w - 4) / 2: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (Python round)
        Tensor out = Images.resizeShorterSideAndCenterCrop(ramp(4, w, true), 4);
        assertEquals(Images.toFloat(left), out.get(0, 0, 0));
        assertEquals(Images.toFloat(left + 3), out.get(2, 3, 3));
        Tensor tall = Images.resizeShorterSideAndCenterCrop(ramp(w, 4, false), 4);
        assertEquals(Images.toFloat(left), tall.get(1, 0, 2));
    }

    @Test
    void constantImagesStayConstantAtAnyScale() {
        for (int[] hw : new int[][] {{3, 2}, {7, 50}, {97, 13}, {1, 1}}) {
            for (int size : new int[] {1, 4, 9, 33}) {
                Tensor in = Tensor.full(Images.toFloat(77), 3, hw[0], hw[1]);
                Tensor out = Images.resizeShorterSideAndCenterCrop(in, size);
                assertArrayEquals(new int[] {3, size, size}, out.shape());
                for (float v : out.toFloatArray()) assertEquals(Images.toFloat(77), v);
            }
        }
    }

    @Test
    void offGridInputsUseTheSameFilterInFloat() throws IOException {
        Tensor in = Images.read(resource("resize_37x23.png"));
        // Shift by a quarter level: off the 8-bit grid, so the float path runs.
        Tensor shifted = in.add(0.25f / 127.5f);
        for (int size : new int[] {8, 16, 40}) {
            float[] exact = Images.resizeShorterSideAndCenterCrop(in, size).toFloatArray();
            float[] f = Images.resizeShorterSideAndCenterCrop(shifted, size).toFloatArray();
            double max = 0;
            for (int i = 0; i < f.length; i++) max = Math.max(max, Math.abs((f[i] - 0.25f / 127.5f) - exact[i]) * 127.5);
            // the fixed-point path rounds twice (after each pass): at most about one level apart
            assertTrue(max <= 1.0, "float vs 8-bit path differ by " + max + " levels at size " + size);
        }
        // A constant off-grid image stays constant.
        Tensor c = Tensor.full(0.123f, 3, 10, 17);
        for (float v : Images.resizeShorterSideAndCenterCrop(c, 6).toFloatArray()) assertEquals(0.123f, v, 1e-6f);
    }

    @Test
    void otherChannelCountsAndErrors() {
        Tensor grey = Tensor.full(Images.toFloat(5), 1, 6, 9);
        assertArrayEquals(new int[] {1, 4, 4}, Images.resizeShorterSideAndCenterCrop(grey, 4).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> Images.resizeShorterSideAndCenterCrop(Tensor.zeros(1, 3, 4, 4), 2));
        assertTrue(e.getMessage().contains("[C, H, W]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Images.resizeShorterSideAndCenterCrop(Tensor.zeros(3, 4, 4), 0));
    }

    // ---------------------------------------------------------------- no-crop path, batches, grids

    @Test
    void checkSizePassesMultiplesAndNamesSizeAndFactorOtherwise() {
        Tensor ok = Tensor.zeros(3, 32, 48);
        assertSame(ok, Images.checkSize(ok, 16));
        Tensor okBatch = Tensor.zeros(2, 3, 16, 8);
        assertSame(okBatch, Images.checkSize(okBatch, 8));
        var e = assertThrows(IllegalArgumentException.class, () -> Images.checkSize(Tensor.zeros(3, 23, 37), 16));
        String m = e.getMessage();
        assertTrue(m.contains("37x23") && m.contains("16") && m.contains("32x16"), m);
        assertTrue(!m.contains("\n"), m);
        var small = assertThrows(IllegalArgumentException.class, () -> Images.checkSize(Tensor.zeros(3, 8, 40), 16));
        assertTrue(small.getMessage().contains("at least 16x16"), small.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Images.checkSize(Tensor.zeros(3, 16), 16));
    }

    @Test
    void batchStacksImagesOfOneSize() {
        Generator gen = new Generator(5);
        Tensor a = Tensor.randn(gen, 3, 4, 5), b = Tensor.randn(gen, 3, 4, 5);
        Tensor batch = Images.batch(List.of(a, b));
        assertArrayEquals(new int[] {2, 3, 4, 5}, batch.shape());
        assertEquals(a.get(2, 3, 4), batch.get(0, 2, 3, 4));
        assertEquals(b.get(1, 0, 2), batch.get(1, 1, 0, 2));
        var e = assertThrows(IllegalArgumentException.class, () -> Images.batch(List.of(a, Tensor.zeros(3, 5, 4))));
        assertTrue(e.getMessage().contains("image 1") && e.getMessage().contains("[3, 5, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Images.batch(List.of()));
    }

    @Test
    void gridLaysOutTilesLikeMakeGrid() {
        Tensor a = Tensor.full(0.5f, 3, 2, 3), b = Tensor.full(-0.5f, 3, 2, 3), c = Tensor.full(1f, 3, 2, 3);
        Tensor g = Images.grid(List.of(a, b, c), 2, 1);
        // 2 columns, 2 rows: height 2 * (2 + 1) + 1, width 2 * (3 + 1) + 1
        assertArrayEquals(new int[] {3, 7, 9}, g.shape());
        assertEquals(0f, g.get(0, 0, 0));          // padding: make_grid's 0
        assertEquals(0.5f, g.get(0, 1, 1));        // tile 0 at (1, 1)
        assertEquals(0.5f, g.get(2, 2, 3));
        assertEquals(0f, g.get(0, 1, 4));          // padding between columns
        assertEquals(-0.5f, g.get(1, 1, 5));       // tile 1 at (1, 5)
        assertEquals(1f, g.get(0, 4, 1));          // tile 2 at (4, 1)
        assertEquals(0f, g.get(0, 4, 5));          // the empty cell
        Tensor white = Images.grid(List.of(a), 4, 2, 1f);
        assertArrayEquals(new int[] {3, 6, 7}, white.shape());
        assertEquals(1f, white.get(0, 0, 0));
        assertEquals(0.5f, white.get(0, 2, 2));
    }
}
