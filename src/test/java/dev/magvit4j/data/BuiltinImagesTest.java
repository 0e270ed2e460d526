package dev.magvit4j.data;

import dev.magvit4j.image.Images;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class BuiltinImagesTest {

    @Test
    void deterministicPerSeedAndIndex() {
        BuiltinImages a = new BuiltinImages(7, 32, 100), b = new BuiltinImages(7, 32, 100), c = new BuiltinImages(8, 32, 100);
        float[] later = b.image(57).toFloatArray(); // b makes 57 before 3: order must not matter
        assertArrayEquals(a.image(3).toFloatArray(), b.image(3).toFloatArray());
        assertArrayEquals(a.image(57).toFloatArray(), later);
        int differ = 0;
        for (int i = 0; i < 16; i++) {
            if (!java.util.Arrays.equals(a.image(i).toFloatArray(), c.image(i).toFloatArray())) differ++;
        }
        assertTrue(differ >= 14, "other seed changed only " + differ + " of 16 images");
    }

    @Test
    void pinnedPixels() {
        // a checksum of the 8-bit pixels of one image per class: changes only if the generator does
        BuiltinImages set = new BuiltinImages(42, 32, 8);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        for (int i = 0; i < 8; i++) {
            for (float v : set.image(i).toFloatArray()) crc.update((int) Math.round((v + 1.0) * 127.5));
        }
        assertEquals(3568860856L, crc.getValue());
    }

    @Test
    void valuesOnThe8BitGridAndShape() {
        BuiltinImages set = new BuiltinImages(1, 20, 24);
        assertEquals(24, set.size());
        assertEquals(20, set.imageSize());
        for (int i = 0; i < set.size(); i++) {
            Tensor t = set.image(i);
            assertArrayEquals(new int[] {3, 20, 20}, t.shape());
            for (float v : t.toFloatArray()) {
                assertTrue(v >= -1f && v <= 1f);
                int p = (int) Math.round((v + 1.0) * 127.5);
                assertEquals((float) (p / 127.5 - 1.0), v, 0f, "value " + v + " of image " + i + " is off the 8-bit grid");
            }
        }
    }

    @Test
    void labelsBalancedAndNamed() {
        BuiltinImages set = new BuiltinImages(0, 16, 80);
        assertEquals(8, set.numClasses());
        int[] counts = new int[set.numClasses()];
        for (int i = 0; i < set.size(); i++) counts[set.label(i)]++;
        for (int n : counts) assertEquals(10, n);
        Set<String> names = new HashSet<>();
        for (int c = 0; c < set.numClasses(); c++) names.add(set.className(c));
        assertEquals(8, names.size());
        assertTrue(BuiltinImages.describe().contains("checker"));
    }

    @Test
    void classesDifferAndVaryWithin() {
        int size = 32, perClass = 40, classes = 8, n = 3 * size * size;
        BuiltinImages set = new BuiltinImages(3, size, perClass * classes);
        // per class: the mean image, plus the mean structure profile (mean |I(p) - I(p + d)| for
        // shifts d), which tells textures apart whose mean images are both flat
        int[][] shifts = {{1, 0}, {0, 1}, {1, 1}, {1, -1}, {2, 0}, {0, 2}, {3, 3}, {3, -3}, {4, 0}, {0, 4}, {6, 0}, {0, 6}};
        double[][] mean = new double[classes][n + shifts.length];
        for (int i = 0; i < set.size(); i++) {
            float[] img = set.image(i).toFloatArray();
            double[] m = mean[set.label(i)];
            for (int j = 0; j < n; j++) m[j] += img[j] / perClass;
            for (int s = 0; s < shifts.length; s++) {
                double sum = 0;
                int dx = shifts[s][0], dy = shifts[s][1], count = 0;
                for (int ch = 0; ch < 3; ch++) {
                    for (int y = Math.max(0, -dy); y < size - Math.max(0, dy); y++) {
                        for (int x = 0; x < size - dx; x++, count++) {
                            sum += Math.abs(img[(ch * size + y) * size + x] - img[(ch * size + y + dy) * size + x + dx]);
                        }
                    }
                }
                m[n + s] += sum / count / perClass * 40; // weighted like 40 pixels of the image
            }
            if (i >= classes) assertFalse(java.util.Arrays.equals(img, set.image(i - classes).toFloatArray()), "images " + i + " and " + (i - classes) + " are identical");
        }
        for (int a = 0; a < classes; a++) {
            for (int b = 0; b < a; b++) {
                double d = 0;
                for (int j = 0; j < mean[a].length; j++) d += (mean[a][j] - mean[b][j]) * (mean[a][j] - mean[b][j]);
                d = Math.sqrt(d);
                assertTrue(d > 2.0, // the closest pair is ~5.5
                         set.className(a) + " and " + set.className(b) + " are too alike: distance " + d);
            }
        }
    }

    @Test
    void errorsForBadArguments() {
        BuiltinImages set = new BuiltinImages(0, 16, 10);
        assertThrows(IllegalArgumentException.class, () -> set.image(10));
        assertThrows(IllegalArgumentException.class, () -> set.image(-1));
        assertThrows(IllegalArgumentException.class, () -> set.label(10));
        assertThrows(IllegalArgumentException.class, () -> set.className(8));
        assertThrows(IllegalArgumentException.class, () -> new BuiltinImages(0, 15, 10));
        assertThrows(IllegalArgumentException.class, () -> new BuiltinImages(0, 16, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> set.image(12));
        assertEquals("image index 12 out of range 0..9", e.getMessage());
    }

    @Test
    void writesASampleGrid(@TempDir Path dir) throws Exception {
        BuiltinImages set = new BuiltinImages(0, 32, 64);
        List<Tensor> images = new ArrayList<>();
        for (int i = 0; i < 64; i++) images.add(set.image((i % 8) * 8 + i / 8)); // one class per row
        Path file = dir.resolve("grid.png");
        Images.writePng(Images.grid(images, 8, 2), file);
        assertTrue(Files.size(file) > 100);
        String out = System.getProperty("builtin.grid.dir");
        if (out != null) { // -Dbuiltin.grid.dir=/tmp writes grids to look at
            for (int size : new int[] {32, 64}) {
                BuiltinImages s = new BuiltinImages(0, size, 64);
                List<Tensor> list = new ArrayList<>();
                for (int i = 0; i < 64; i++) list.add(s.image((i % 8) * 8 + i / 8));
                Images.writePng(Images.grid(list, 8, 2), Path.of(out, "builtin" + size + ".png"));
            }
        }
    }
}
