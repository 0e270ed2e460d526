package dev.magvit4j.data;

import dev.magvit4j.image.BitmapFont;
import dev.magvit4j.image.Images;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/**
 * A procedurally generated, labelled image set that needs no download: {@code count} images of
 * {@code size x size} pixels in 8 balanced classes (label = index % 8):
 *
 * <ol start="0">
 *   <li>{@code circle}: a filled disk on a plain background</li>
 *   <li>{@code square}: a filled axis-aligned square</li>
 *   <li>{@code triangle}: a filled upward-pointing equilateral triangle</li>
 *   <li>{@code ring}: an annulus (a disk with a hole)</li>
 *   <li>{@code stripes}: parallel bars at 0, 45, 90 or 135 degrees over the whole image</li>
 *   <li>{@code checker}: a checkerboard over the whole image</li>
 *   <li>{@code gradient}: a linear gradient between two colours, nothing else</li>
 *   <li>{@code glyph}: a large letter (A, E, K, R or Z) from {@link BitmapFont}</li>
 * </ol>
 *
 * Variation within a class is deliberately moderate, so that small models learn the classes
 * quickly: colours from a fixed palette of 6 saturated colours on 3 background tones, position
 * jitter of +-15% of the side, size jitter of +-20%, a few angles and letters. Shapes are drawn
 * with 4x4 supersampling (edge pixels average the coverage) and quantised to 8 bits, so every
 * value is {@code (float) (p / 127.5 - 1.0)} for an integer p in 0..255, like a decoded PNG.
 *
 * <p>{@link #image(int)} is a pure function of (seed, index): each random draw is
 * {@code Generator.uniform(Generator.bits(seed, index), k)} for the draw number k, so images do
 * not depend on which others were made, in which order or on which thread. The class is
 * immutable and thread-safe.
 */
public final class BuiltinImages implements Dataset {

    private static final String[] CLASSES = {"circle", "square", "triangle", "ring", "stripes", "checker", "gradient", "glyph"};
    private static final int[] PALETTE = {0xE6372D, 0x2DB446, 0x325AE6, 0xF0C81E, 0xC83CC8, 0x1EBED2};
    private static final int[] BACKGROUNDS = {0x101014, 0x3A3A44, 0x8C8C96};
    private static final String LETTERS = "AEKRZ";
    private static final int SS = 4; // supersampling factor per axis

    private final long seed;
    private final int size, count;

    /**
     * @param seed  the data set's seed
     * @param size  the image side in pixels, 16..1024
     * @param count the number of images, >= 1
     */
    public BuiltinImages(long seed, int size, int count) {
        if (size < 16 || size > 1024) throw new IllegalArgumentException("builtin image size must be in 16..1024, got " + size);
        if (count < 1) throw new IllegalArgumentException("builtin image count must be >= 1, got " + count);
        this.seed = seed;
        this.size = size;
        this.count = count;
    }

    /** The number of images. */
    @Override
    public int size() {
        return count;
    }

    /** The image side in pixels. */
    public int imageSize() {
        return size;
    }

    /** The number of classes (8). */
    @Override
    public int numClasses() {
        return CLASSES.length;
    }

    /** The name of class {@code c}, e.g. "circle". */
    @Override
    public String className(int c) {
        if (c < 0 || c >= CLASSES.length) throw new IllegalArgumentException("class " + c + " out of range 0.." + (CLASSES.length - 1));
        return CLASSES[c];
    }

    /** The class names in label order, comma separated. */
    public static String describe() {
        return String.join(", ", CLASSES);
    }

    /** The label of image {@code index}: {@code index % numClasses()}, so classes are balanced. */
    @Override
    public int label(int index) {
        checkIndex(index);
        return index % CLASSES.length;
    }

    /** "class/index", e.g. "ring/11". */
    @Override
    public String name(int index) {
        return className(label(index)) + "/" + index;
    }

    /** Image {@code index} as a [3, size, size] float32 tensor in [-1, 1]. */
    @Override
    public Tensor image(int index) {
        checkIndex(index);
        long key = Generator.bits(seed, index);
        Scene scene = scene(label(index), key);
        int n = size * size;
        float[] out = new float[3 * n];
        for (int py = 0; py < size; py++) {
            for (int px = 0; px < size; px++) {
                double cover = 0;
                for (int sy = 0; sy < SS; sy++) {
                    for (int sx = 0; sx < SS; sx++) {
                        cover += scene.mix().at(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS);
                    }
                }
                cover /= SS * SS;
                for (int ch = 0; ch < 3; ch++) {
                    int shift = 16 - 8 * ch;
                    double a = scene.back() >> shift & 255, b = scene.fore() >> shift & 255;
                    out[ch * n + py * size + px] = Images.toFloat((int) Math.round(a + (b - a) * cover));
                }
            }
        }
        return Tensor.of(out, 3, size, size);
    }

    private void checkIndex(int index) {
        if (index < 0 || index >= count) throw new IllegalArgumentException("image index " + index + " out of range 0.." + (count - 1));
    }

    /** Coverage of the foreground at a point: 0 is background, 1 foreground, between blends. */
    private interface Mix {
        double at(double x, double y);
    }

    /** One image's drawing: where the foreground is, and the two colours (0xRRGGBB). */
    private record Scene(Mix mix, int back, int fore) {}

    /** Draws the random choices of one image from its key: draw k is uniform(key, k). */
    private Scene scene(int label, long key) {
        double[] u = new double[7];
        for (int k = 0; k < u.length; k++) u[k] = Generator.uniform(key, k);
        double cx = size * (0.5 + 0.3 * (u[0] - 0.5)), cy = size * (0.5 + 0.3 * (u[1] - 0.5)); // +-15%
        double r = size * 0.27 * (0.8 + 0.4 * u[2]);                                           // +-20%
        int foreIndex = (int) (u[3] * PALETTE.length);
        int fore = PALETTE[foreIndex], back = BACKGROUNDS[(int) (u[4] * BACKGROUNDS.length)];
        Mix mix = switch (CLASSES[label]) {
            case "circle" -> (x, y) -> sq(x - cx) + sq(y - cy) <= r * r ? 1 : 0;
            case "square" -> {
                double h = 0.886 * r; // the half side giving the disk's area: (2h)^2 = pi r^2
                yield (x, y) -> Math.abs(x - cx) <= h && Math.abs(y - cy) <= h ? 1 : 0;
            }
            case "triangle" -> {
                // vertices on a circle of radius R: apex R above its centre, base R/2 below; the
                // centre sits R/4 below (cx, cy) so that the triangle's box is centred there
                double big = 1.2 * r, top = cy - 0.75 * big, base = cy + 0.75 * big, half = big * Math.sqrt(3) / 2;
                yield (x, y) -> y >= top && y <= base && Math.abs(x - cx) <= half * (y - top) / (base - top) ? 1 : 0;
            }
            case "ring" -> {
                double inner = 0.55 * r;
                yield (x, y) -> {
                    double d2 = sq(x - cx) + sq(y - cy);
                    return d2 <= r * r && d2 >= inner * inner ? 1 : 0;
                };
            }
            case "stripes" -> { // StrictMath here and below: the same bits on every JDK
                double angle = Math.PI / 4 * (int) (u[5] * 4), period = size * (0.2 + 0.1 * u[2]), phase = u[6];
                double nx = StrictMath.cos(angle), ny = StrictMath.sin(angle);
                yield (x, y) -> frac((x * nx + y * ny) / period + phase) < 0.5 ? 1 : 0;
            }
            case "checker" -> {
                double cell = size / (4.0 + 2 * u[2]), ox = u[5] * 2 * cell, oy = u[6] * 2 * cell;
                yield (x, y) -> (Math.floor((x + ox) / cell) + Math.floor((y + oy) / cell)) % 2 != 0 ? 1 : 0;
            }
            case "gradient" -> {
                // a second palette colour instead of a background tone; t runs 0..1 across the
                // image along one of 8 directions
                back = PALETTE[(foreIndex + 1 + (int) (u[6] * (PALETTE.length - 1))) % PALETTE.length];
                double angle = Math.PI / 4 * (int) (u[5] * 8), nx = StrictMath.cos(angle), ny = StrictMath.sin(angle);
                double span = size * (Math.abs(nx) + Math.abs(ny)), mid = size / 2.0;
                yield (x, y) -> 0.5 + ((x - mid) * nx + (y - mid) * ny) / span;
            }
            case "glyph" -> {
                char c = LETTERS.charAt((int) (u[5] * LETTERS.length()));
                double px = 2.1 * r / BitmapFont.GLYPH_H; // one font pixel; the glyph is ~0.57 of the side tall
                double x0 = cx - px * BitmapFont.GLYPH_W / 2, y0 = cy - px * BitmapFont.GLYPH_H / 2;
                yield (x, y) -> BitmapFont.pixel(c, (int) Math.floor((x - x0) / px), (int) Math.floor((y - y0) / px)) ? 1 : 0;
            }
            default -> throw new IllegalStateException(CLASSES[label]);
        };
        return new Scene(mix, back, fore);
    }

    private static double sq(double v) {
        return v * v;
    }

    private static double frac(double v) {
        return v - Math.floor(v);
    }
}
