package dev.magvit4j.image;

import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Image files in and out of the tokenizer, as Open-MAGVIT2 does it. Images are float32 tensors
 * [3, H, W] (batches [B, 3, H, W]) in [-1, 1], {@code pixel / 127.5 - 1}.
 *
 * <h2>What the reference does</h2>
 * References are to TencentARC/Open-MAGVIT2 at commit 21e1f93 ("update v3", the current code).
 * <ul>
 * <li><b>Loading</b> ({@code src/Open_MAGVIT2/data/base.py}, {@code ImagePaths.preprocess_image};
 *     the evaluation/reconstruction data set is {@code ImageNetValidation} in
 *     {@code src/Open_MAGVIT2/data/imagenet.py}, built on {@code ImagePaths} with
 *     {@code random_crop=False}, size from the config or the scripts' {@code --image_size}):
 *     {@code PIL.Image.open}, then {@code convert("RGB")} unless the mode is already RGB, then
 *     {@code torchvision.transforms.Resize(size)} and {@code CenterCrop((size, size))} on the PIL
 *     image, then {@code np.array(image) / 127.5 - 1.0} in float64, cast to float32.
 *     (The albumentations {@code SmallestMaxSize} pipeline in the same {@code imagenet.py},
 *     {@code get_preprocessor}, is used only by the depth data sets, not by evaluation.)
 * <li><b>Resize</b>: torchvision's {@code Resize(int)} makes the shorter side {@code size} and the
 *     longer {@code int(size * long / short)} (truncated; torchvision
 *     {@code _compute_resized_output_size}), then calls PIL's {@code Image.resize} with
 *     {@code BILINEAR}; for PIL inputs that is always antialiased (the filter widens by the
 *     down-scaling factor). {@link PillowResize} restates Pillow's fixed-point two-pass resample.
 *     {@code CenterCrop} starts at {@code int(round((H - size) / 2.0))} and
 *     {@code int(round((W - size) / 2.0))}: Python's {@code round}, halves to even.
 * <li><b>Colour conversion</b> (Pillow 9.4 {@code convert("RGB")}): grey replicated to three
 *     channels; alpha dropped without compositing (RGBA, LA); palette images through their
 *     palette (transparency dropped); CMYK as {@code nk - nk·c/255}, {@code nk = 255 - k}. 16-bit
 *     RGB(A) and grey-with-alpha PNGs are opened keeping the high byte of each sample. 16-bit grey
 *     PNGs (mode "I") are <i>clipped</i> at 255 by Pillow, which makes them almost white;
 *     magvit4j keeps the high byte for them too (documented difference: the only sensible
 *     reading, and consistent with how Pillow reads every other 16-bit PNG). EXIF orientation is
 *     not applied (Pillow's {@code open} does not either). Embedded ICC profiles are ignored.
 * <li><b>Reconstruction → PNG</b> ({@code reconstruct.py} and {@code evaluation.py},
 *     {@code custom_to_pil}): {@code torch.clamp(x, -1, 1)}, {@code (x + 1) / 2} in float32,
 *     {@code (255 * x).astype(np.uint8)} (truncation), {@code Image.fromarray(...).save(png)}.
 *     {@code sample.py} / {@code generate.py} ({@code chw_to_pillow}) clip after scaling instead,
 *     which gives the same bytes. See {@link PixelRounding} for what truncation does to a round trip.
 * <li><b>PSNR</b> ({@code evaluation.py}): reconstructions clamped to [-1, 1]; both images mapped
 *     to [0, 1] by {@code (x + 1) / 2}, to uint8 by {@code (x * 255.0).to(torch.uint8)}
 *     (truncation, the same bytes as {@code custom_to_pil}), back to float32 by {@code / 255};
 *     then {@code skimage.metrics.peak_signal_noise_ratio} with its inferred data range of 1.0:
 *     {@code 10 · log10(1 / mean((a - b)^2))}. The script passes the whole batch to it for each of
 *     the B samples, so each batch contributes the PSNR of its pooled MSE; the reported figure is
 *     the mean of those over batches (per image when the batch size is 1).
 * </ul>
 * JPEG decoding is ImageIO's (IJG libjpeg 6b) where the reference's is Pillow's (libjpeg-turbo):
 * both use the accurate integer IDCT and fancy upsampling, and their pixels agree exactly on the
 * test fixture (ImagesReadTest) and on 500x375 JPEGs at 4:2:0, 4:2:2, 4:4:4 and progressive
 * (measured once: 0 of 562,500 samples differ). The resize is bit-exact against torchvision 0.14 +
 * Pillow 9.4 on the fixtures (ImagesResizeTest) and on 500x375, 683x1024 and 97x131 images
 * resized to 256, 128 and 13 (measured once: 0 differing samples).
 */
public final class Images {

    private static final float[] TO_FLOAT = new float[256];

    static {
        for (int p = 0; p < 256; p++) TO_FLOAT[p] = (float) (p / 127.5 - 1.0);
    }

    private Images() {}

    // ---------------------------------------------------------------- reading

    /**
     * Reads a PNG, JPEG (or anything else ImageIO decodes: BMP, GIF, TIFF, WBMP) as a float32
     * [3, H, W] tensor in [-1, 1], with the colour rules of {@code convert("RGB")} described above.
     *
     * @throws IOException one line naming the file and the problem: missing, a directory, empty,
     *                     not an image, truncated or corrupt, an unsupported colour type
     */
    public static Tensor read(Path file) throws IOException {
        return toTensor(ImageDecoder.decode(file));
    }

    /** The value {@code (float) (p / 127.5 - 1.0)} that {@link #read} gives an 8-bit pixel {@code p}. */
    public static float toFloat(int p) {
        if (p < 0 || p > 255) throw new IllegalArgumentException("8-bit pixel value must be in 0..255, got " + p);
        return TO_FLOAT[p];
    }

    static Tensor toTensor(Rgb8 img) {
        byte[] planes = img.planes();
        float[] data = new float[planes.length];
        for (int i = 0; i < data.length; i++) data[i] = TO_FLOAT[planes[i] & 0xFF];
        return Tensor.of(data, img.channels(), img.height(), img.width());
    }

    // ---------------------------------------------------------------- geometry

    /**
     * torchvision's {@code Resize(size)} then {@code CenterCrop((size, size))} on a [C, H, W] image,
     * the reference's evaluation preprocessing. The shorter side becomes {@code size} and the
     * longer {@code (int) (size * long / (double) short)}; the crop starts at
     * {@code rint((H' - size) / 2)} and {@code rint((W' - size) / 2)} (halves to even, like
     * Python's {@code round}).
     *
     * <p>When every value lies on the 8-bit grid ({@code toFloat(p)} for some p, as everything
     * {@link #read} returns does), the result is bit-identical to the reference: Pillow's
     * fixed-point bilinear resample, 8-bit rounding between the horizontal and the vertical pass
     * included. Other inputs go through the same filter in double precision without those
     * roundings (the reference never resizes anything but 8-bit images); they stay within one
     * 8-bit level of the exact path (measured: at most 0.99 levels on the test images).
     *
     * @throws IllegalArgumentException if the tensor is not [C, H, W] or {@code size < 1}
     */
    public static Tensor resizeShorterSideAndCenterCrop(Tensor image, int size) {
        int[] s = requireChw(image, "resizeShorterSideAndCenterCrop");
        if (size < 1) throw new IllegalArgumentException("resize size must be at least 1, got " + size);
        int[] out = resizedSize(s[1], s[2], size);
        return resizeShorterSideAndCrop(image, size, (int) Math.rint((out[0] - size) / 2.0), (int) Math.rint((out[1] - size) / 2.0));
    }

    /**
     * torchvision's {@code Resize(size)} then a {@code size x size} crop at ({@code top}, {@code left})
     * of the resized image (whose size {@link #resizedSize} gives): the training transform's
     * {@code RandomCrop} with its offsets drawn by the caller. Same arithmetic as
     * {@link #resizeShorterSideAndCenterCrop}.
     */
    public static Tensor resizeShorterSideAndCrop(Tensor image, int size, int top, int left) {
        int[] s = requireChw(image, "resizeShorterSideAndCrop");
        if (size < 1) throw new IllegalArgumentException("resize size must be at least 1, got " + size);
        int c = s[0], h = s[1], w = s[2];
        int[] out = resizedSize(h, w, size);
        int outH = out[0], outW = out[1];
        if (top < 0 || left < 0 || top + size > outH || left + size > outW) {
            throw new IllegalArgumentException("crop " + size + "x" + size + " at (" + top + ", " + left + ") lies outside the resized " + outH + "x" + outW + " image");
        }
        if (h == size && w == size) return image; // Pillow resizes to the same size by copying
        float[] data = image.toFloatArray();
        Rgb8 grid = onGrid(data, c, w, h);
        if (grid != null) {
            Rgb8 r = PillowResize.resize(grid, outW, outH, left, top, size, size);
            return toTensor(r);
        }
        float[] r = PillowResize.resize(data, c, w, h, outW, outH, left, top, size, size);
        return Tensor.of(r, c, size, size);
    }

    /** torchvision's {@code Resize(size)} output size {height, width} for an H x W input. */
    public static int[] resizedSize(int h, int w, int size) {
        if (w <= h) return new int[] {(int) ((long) size * h / (double) w), size};
        return new int[] {size, (int) ((long) size * w / (double) h)};
    }

    /** The image as 8-bit planes if every value is exactly {@code toFloat(p)} for some p, else null. */
    private static Rgb8 onGrid(float[] data, int c, int w, int h) {
        byte[] planes = new byte[data.length];
        for (int i = 0; i < data.length; i++) {
            float x = data[i];
            double p = Math.rint((x + 1.0) * 127.5);
            if (!(p >= 0 && p <= 255) || TO_FLOAT[(int) p] != x) return null;
            planes[i] = (byte) (int) p;
        }
        return new Rgb8(c, w, h, planes);
    }

    /**
     * For the no-crop path: returns the image unchanged when its height and width are multiples of
     * the tokenizer's downsampling factor ({@code 2^(len(ch_mult) - 1)}: 8 for the 128px model, 16
     * for the 256px one). Takes [C, H, W] or [B, C, H, W].
     *
     * @throws IllegalArgumentException naming the size and the factor otherwise
     */
    public static Tensor checkSize(Tensor image, int multiple) {
        if (multiple < 1) throw new IllegalArgumentException("downsampling factor must be at least 1, got " + multiple);
        int d = image.dim();
        if (d != 3 && d != 4) {
            throw new IllegalArgumentException("expected an image [C, H, W] or a batch [B, C, H, W], got shape " + Shape.str(image.shape()));
        }
        int h = image.size(d - 2), w = image.size(d - 1);
        if (h % multiple == 0 && w % multiple == 0) return image;
        String hint = h >= multiple && w >= multiple
                ? "crop it to " + (w / multiple * multiple) + "x" + (h / multiple * multiple) + " or resize it"
                : "it must be at least " + multiple + "x" + multiple;
        throw new IllegalArgumentException("image size " + w + "x" + h + " (width x height) is not a multiple of the tokenizer's "
                + "downsampling factor " + multiple + "; " + hint);
    }

    /** The image enlarged {@code factor} times by repeating pixels ([C, H, W]): small pictures made legible. */
    public static Tensor enlarge(Tensor image, int factor) {
        int[] s = requireChw(image, "enlarge");
        if (factor < 1) throw new IllegalArgumentException("enlarge factor must be at least 1, got " + factor);
        if (factor == 1) return image;
        int h = s[1], w = s[2], oh = h * factor, ow = w * factor;
        float[] in = image.toFloatArray(), out = new float[Math.multiplyExact(in.length, factor * factor)];
        for (int c = 0; c < s[0]; c++) {
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) out[(c * oh + y) * ow + x] = in[(c * h + y / factor) * w + x / factor];
            }
        }
        return Tensor.of(out, s[0], oh, ow);
    }

    /** The image mirrored left to right ([C, H, W]). */
    public static Tensor flipHorizontal(Tensor image) {
        int[] s = requireChw(image, "flipHorizontal");
        int w = s[2];
        float[] in = image.toFloatArray(), out = new float[in.length];
        for (int row = 0; row < s[0] * s[1]; row++) {
            for (int x = 0; x < w; x++) out[row * w + x] = in[row * w + w - 1 - x];
        }
        return Tensor.of(out, s[0], s[1], w);
    }

    /** Stacks [3, H, W] images of one size into [B, 3, H, W]. */
    public static Tensor batch(List<Tensor> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("cannot batch an empty list of images");
        int[] first = requireChw(images.get(0), "batch");
        int per = first[0] * first[1] * first[2];
        float[] data = new float[Math.multiplyExact(per, images.size())];
        for (int i = 0; i < images.size(); i++) {
            int[] s = requireChw(images.get(i), "batch");
            if (s[0] != first[0] || s[1] != first[1] || s[2] != first[2]) {
                throw new IllegalArgumentException("image " + i + " is " + Shape.str(s) + " but image 0 is " + Shape.str(first)
                        + ": a batch needs images of one size (resize/crop them, e.g. to a common --size)");
            }
            System.arraycopy(images.get(i).toFloatArray(), 0, data, i * per, per);
        }
        return Tensor.of(data, images.size(), first[0], first[1], first[2]);
    }

    /**
     * Tiles [C, H, W] images of one size into a [C, H', W'] grid, row-major, like torchvision's
     * {@code make_grid}: {@code min(columns, n)} columns, {@code ceil(n / columns)} rows,
     * {@code padding} pixels around and between the tiles, padding and empty cells filled with
     * {@code padValue} (make_grid's default is 0, mid-grey for images in [-1, 1]).
     */
    public static Tensor grid(List<Tensor> images, int columns, int padding, float padValue) {
        if (images.isEmpty()) throw new IllegalArgumentException("cannot make a grid of no images");
        if (columns < 1) throw new IllegalArgumentException("grid columns must be at least 1, got " + columns);
        if (padding < 0) throw new IllegalArgumentException("grid padding must be >= 0, got " + padding);
        Tensor b = batch(images);
        int n = images.size(), c = b.size(1), h = b.size(2), w = b.size(3);
        int cols = Math.min(columns, n), rows = (n + cols - 1) / cols;
        int gh = rows * (h + padding) + padding, gw = cols * (w + padding) + padding;
        float[] src = b.toFloatArray();
        float[] out = new float[Math.multiplyExact(c, Math.multiplyExact(gh, gw))];
        Arrays.fill(out, padValue);
        for (int i = 0; i < n; i++) {
            int oy = (i / cols) * (h + padding) + padding, ox = (i % cols) * (w + padding) + padding;
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    System.arraycopy(src, ((i * c + ch) * h + y) * w, out, (ch * gh + oy + y) * gw + ox, w);
                }
            }
        }
        return Tensor.of(out, c, gh, gw);
    }

    /** {@link #grid(List, int, int, float)} with make_grid's default fill 0 (mid-grey). */
    public static Tensor grid(List<Tensor> images, int columns, int padding) {
        return grid(images, columns, padding, 0f);
    }

    // ---------------------------------------------------------------- writing

    /** {@link #toImage(Tensor, PixelRounding)} with the reference's {@link PixelRounding#TRUNCATE}. */
    public static BufferedImage toImage(Tensor chw) {
        return toImage(chw, PixelRounding.TRUNCATE);
    }

    /** A [3, H, W] tensor (clamped to [-1, 1]) as an 8-bit RGB image. */
    public static BufferedImage toImage(Tensor chw, PixelRounding rounding) {
        int[] s = requireChw(chw, "toImage");
        if (s[0] != 3) throw new IllegalArgumentException("toImage needs 3 channels, got shape " + Shape.str(s));
        int h = s[1], w = s[2], n = h * w;
        float[] d = chw.toFloatArray();
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] rgb = new int[n];
        for (int i = 0; i < n; i++) {
            rgb[i] = rounding.toUint8(d[i]) << 16 | rounding.toUint8(d[n + i]) << 8 | rounding.toUint8(d[2 * n + i]);
        }
        img.setRGB(0, 0, w, h, rgb, 0, w);
        return img;
    }

    /** {@link #writePng(Tensor, Path, PixelRounding)} with the reference's {@link PixelRounding#TRUNCATE}. */
    public static void writePng(Tensor chw, Path file) throws IOException {
        writePng(chw, file, PixelRounding.TRUNCATE);
    }

    /**
     * Writes a [3, H, W] tensor as an 8-bit RGB PNG. The bytes go to a temporary file in the
     * target's folder (created if missing), are forced to disk, and the file is then renamed over
     * {@code file}, so an error never leaves a partial PNG behind.
     */
    public static void writePng(Tensor chw, Path file, PixelRounding rounding) throws IOException {
        writePng(toImage(chw, rounding), file);
    }

    /** Writes an image as PNG atomically (see {@link #writePng(Tensor, Path, PixelRounding)}). */
    public static void writePng(BufferedImage image, Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": cannot create folder " + dir + " (" + e + ")", e);
        }
        Path[] created = new Path[1];
        FileChannel opened;
        try {
            opened = dev.magvit4j.io.AtomicFiles.createSibling(target, created);
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": " + e, e);
        }
        Path tmp = created[0];
        boolean done = false;
        try {
            try (FileChannel ch = opened) {
                OutputStream os = Channels.newOutputStream(ch);
                Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
                if (!writers.hasNext()) throw new IOException("cannot write " + file + ": no PNG writer in this JVM");
                ImageWriter writer = writers.next();
                try (ImageOutputStream out = new MemoryCacheImageOutputStream(os)) {
                    writer.setOutput(out);
                    writer.write(image);
                } finally {
                    writer.dispose();
                }
                os.flush();
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } catch (IOException e) {
            String m = e.getMessage();
            throw m != null && m.startsWith("cannot write ") ? e : new IOException("cannot write " + file + ": " + e, e);
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
    }

    // ---------------------------------------------------------------- metrics

    /**
     * PSNR in dB as Open-MAGVIT2's {@code evaluation.py} computes it: both tensors (same shape,
     * values in [-1, 1]; clamped) are turned into 8-bit pixels exactly as {@link #writePng} does
     * ({@link PixelRounding#TRUNCATE}), divided by 255 in float32, and
     * {@code PSNR = 10 · log10(1 / MSE)} with the MSE the mean over every element of the float32
     * squared differences, accumulated in double. That is {@code 20·log10(255) - 10·log10(MSE)}
     * over the uint8 pixels up to float32 rounding of the {@code /255} values. A [B, 3, H, W] pair
     * gives the PSNR of the pooled MSE, as the reference does per batch. Identical pixels give
     * {@code +Infinity}.
     */
    public static double psnr(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("psnr needs two tensors of one shape, got " + Shape.str(a.shape()) + " and " + Shape.str(b.shape()));
        }
        if (a.numel() == 0) throw new IllegalArgumentException("psnr of empty tensors");
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            float d = PixelRounding.TRUNCATE.toUint8(x[i]) / 255f - PixelRounding.TRUNCATE.toUint8(y[i]) / 255f;
            sum += d * d;
        }
        double mse = sum / x.length;
        return 10 * Math.log10(1.0 / mse);
    }

    private static int[] requireChw(Tensor t, String what) {
        if (t.dim() != 3) throw new IllegalArgumentException(what + " needs an image [C, H, W], got shape " + Shape.str(t.shape()));
        int[] s = t.shape();
        if (s[0] < 1 || s[1] < 1 || s[2] < 1) throw new IllegalArgumentException(what + " needs a non-empty image, got shape " + Shape.str(s));
        return s;
    }
}
