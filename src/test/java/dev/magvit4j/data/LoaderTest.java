package dev.magvit4j.data;

import dev.magvit4j.image.Images;
import dev.magvit4j.image.PixelRounding;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loader's stream (order, augmentation, resume by position, threads) and the image folder layouts. */
class LoaderTest {

    @TempDir
    Path dir;

    private static List<float[]> take(Loader l, int batches) throws IOException {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < batches; i++) out.add(l.next().images().toFloatArray());
        return out;
    }

    @Test
    void aLoaderStartedAtAPositionYieldsWhatAnUninterruptedOneDoesWhateverTheThreads() throws IOException {
        BuiltinImages data = new BuiltinImages(3, 16, 10);
        List<float[]> straight, resumed;
        try (Loader l = new Loader(data, 4, 12, true, 5, 0, 1)) {
            straight = take(l, 6);
            assertEquals(24, l.position());
        }
        try (Loader l = new Loader(data, 4, 12, true, 5, 8, 3)) {
            resumed = take(l, 4);
        }
        for (int i = 0; i < 4; i++) assertArrayEquals(straight.get(i + 2), resumed.get(i), "batch " + (i + 2));
        assertNotEquals(java.util.Arrays.toString(straight.get(0)), java.util.Arrays.toString(straight.get(1)));
    }

    @Test
    void eachEpochVisitsEveryImageOnceInANewOrder() throws IOException {
        BuiltinImages data = new BuiltinImages(3, 16, 12);
        int[] e0 = ShuffledOrder.permutation(9, 0, 12), e1 = ShuffledOrder.permutation(9, 1, 12);
        Set<Integer> seen = new HashSet<>();
        for (int i : e0) seen.add(i);
        assertEquals(12, seen.size());
        assertNotEquals(java.util.Arrays.toString(e0), java.util.Arrays.toString(e1));
        try (Loader l = new Loader(data, 6, 16, false, 9, 0, 2)) {
            long[] labels = new long[12];
            System.arraycopy(l.next().labels().toLongArray(), 0, labels, 0, 6);
            System.arraycopy(l.next().labels().toLongArray(), 0, labels, 6, 6);
            for (int i = 0; i < 12; i++) assertEquals(data.label(e0[i]), labels[i]);
        }
    }

    @Test
    void trainTransformCropsInsideTheResizedImageAndFlipsHalfTheTime() {
        float[] d = new float[3 * 20 * 30];
        for (int i = 0; i < d.length; i++) d[i] = Images.toFloat(i % 256);
        Tensor img = Tensor.of(d, 3, 20, 30);
        int flips = 0;
        for (long key = 0; key < 200; key++) {
            Tensor t = Loader.trainTransform(img, 10, key);
            assertArrayEquals(new int[] {3, 10, 10}, t.shape());
        }
        // A square image of the target size: only the flip can change it.
        Tensor sq = Tensor.of(java.util.Arrays.copyOf(d, 3 * 8 * 8), 3, 8, 8);
        for (long key = 0; key < 200; key++) {
            Tensor t = Loader.trainTransform(sq, 8, key);
            if (!java.util.Arrays.equals(t.toFloatArray(), sq.toFloatArray())) {
                flips++;
                assertArrayEquals(Images.flipHorizontal(sq).toFloatArray(), t.toFloatArray());
            }
        }
        assertTrue(flips > 70 && flips < 130, "flipped " + flips + " of 200");
    }

    @Test
    void imageFolderReadsClassSubfoldersOrAFlatFolder() throws IOException {
        Tensor a = new BuiltinImages(1, 16, 2).image(0), b = new BuiltinImages(1, 16, 2).image(1);
        Images.writePng(a, dir.resolve("classes/zebra/1.png"), PixelRounding.NEAREST); // exact for images on the 8-bit grid
        Images.writePng(b, dir.resolve("classes/apple/x/2.png"), PixelRounding.NEAREST);
        Images.writePng(a, dir.resolve("classes/apple/3.png"), PixelRounding.NEAREST);
        Files.createDirectories(dir.resolve("classes/empty"));
        Files.writeString(dir.resolve("classes/zebra/notes.txt"), "not an image");
        ImageFolder f = new ImageFolder(dir.resolve("classes"));
        assertEquals(3, f.size());
        assertEquals(2, f.numClasses());
        assertEquals("apple", f.className(0));
        assertEquals(List.of("apple/3.png", "apple/x/2.png", "zebra/1.png"), List.of(f.name(0), f.name(1), f.name(2)));
        assertEquals(List.of(0, 0, 1), List.of(f.label(0), f.label(1), f.label(2)));
        assertArrayEquals(b.toFloatArray(), f.image(1).toFloatArray());

        Images.writePng(a, dir.resolve("flat/p.png"));
        Images.writePng(b, dir.resolve("flat/q.png"));
        ImageFolder flat = new ImageFolder(dir.resolve("flat"));
        assertEquals(2, flat.size());
        assertEquals(1, flat.numClasses());

        Files.createDirectories(dir.resolve("none"));
        IOException e = assertThrows(IOException.class, () -> new ImageFolder(dir.resolve("none")));
        assertTrue(e.getMessage().contains("no PNG or JPEG"), e.getMessage());
        assertThrows(IOException.class, () -> new ImageFolder(dir.resolve("missing")));
        assertThrows(IndexOutOfBoundsException.class, () -> f.image(3));
    }

    @Test
    void aCorruptImageFailsTheBatchNamingTheFile() throws IOException {
        Images.writePng(new BuiltinImages(1, 16, 1).image(0), dir.resolve("d/ok.png"));
        Files.writeString(dir.resolve("d/bad.png"), "not a png");
        try (Loader l = new Loader(new ImageFolder(dir.resolve("d")), 2, 16, true, 0, 0, 1)) {
            IOException e = assertThrows(IOException.class, l::next);
            assertTrue(e.getMessage().contains("bad.png"), e.getMessage());
        }
    }
}
