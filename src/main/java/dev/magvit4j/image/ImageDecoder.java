package dev.magvit4j.image;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.PackedColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * File → 8-bit RGB, as Pillow's {@code Image.open(path).convert("RGB")} sees it (see
 * {@link Images} for the rules). Reads the raw samples of the decoded raster rather than
 * {@code BufferedImage.getRGB}, which would push grey images through Java's linear-grey colour
 * space and change their values; embedded ICC profiles and gamma chunks are ignored, as Pillow's
 * {@code convert} ignores them.
 */
final class ImageDecoder {

    private ImageDecoder() {}

    static Rgb8 decode(Path file) throws IOException {
        byte[] bytes = readBytes(file);
        if (bytes.length == 0) throw new IOException(file + ": empty file, not an image");
        BufferedImage image;
        String format;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IOException(file + ": not an image this JVM can decode (ImageIO reads "
                        + String.join(", ", readerFormats()) + ")");
            }
            ImageReader reader = readers.next();
            format = reader.getFormatName().toUpperCase(Locale.ROOT);
            List<String> warnings = new ArrayList<>();
            reader.addIIOReadWarningListener((r, warning) -> warnings.add(warning));
            try {
                reader.setInput(in, true, false);
                image = reader.read(0);
            } catch (IIOException e) {
                throw new IOException(file + ": " + describe(format, e), e);
            } catch (IOException | RuntimeException e) {
                // Decoders report damaged data as EOFException, IndexOutOfBounds..., NegativeArraySize...
                throw new IOException(file + ": truncated or corrupt " + format + " data (" + e + ")", e);
            } finally {
                reader.dispose();
            }
            for (String w : warnings) {
                String lw = w.toLowerCase(Locale.ROOT);
                if (lw.contains("premature end") || lw.contains("truncated") || lw.contains("eoi")) {
                    throw new IOException(file + ": truncated " + format + " file (" + w.strip() + ")");
                }
            }
        }
        try {
            return toRgb(image);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static byte[] readBytes(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IOException(file + ": is a directory, not an image file");
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new IOException(file + ": permission denied");
        } catch (IOException e) {
            throw new IOException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static List<String> readerFormats() {
        List<String> names = new ArrayList<>();
        for (String s : ImageIO.getReaderFormatNames()) {
            String n = s.toUpperCase(Locale.ROOT);
            if (n.equals("JPG") || n.equals("TIF")) continue;
            if (!names.contains(n)) names.add(n);
        }
        names.sort(null);
        return names;
    }

    private static String describe(String format, IIOException e) {
        StringBuilder msg = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            msg.append(": ").append(t.getMessage() != null ? t.getMessage() : t.toString());
        }
        String m = msg.toString();
        String lm = m.toLowerCase(Locale.ROOT);
        if (lm.contains("unsupported image type")) return "unsupported " + format + " colour type (" + m + ")";
        return "truncated or corrupt " + format + " data (" + m + ")";
    }

    /** The decoded image's raw samples as Pillow's convert("RGB") would give them. */
    static Rgb8 toRgb(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight(), n = w * h;
        byte[] out = new byte[3 * n];
        Raster raster = image.getRaster();
        ColorModel cm = image.getColorModel();
        int bands = raster.getNumBands();
        int[] pixel = new int[bands];
        int dataType = raster.getTransferType();
        if (dataType == DataBuffer.TYPE_FLOAT || dataType == DataBuffer.TYPE_DOUBLE) {
            throw new IllegalArgumentException("floating-point samples are not supported (8- and 16-bit images are)");
        }

        if (cm instanceof IndexColorModel icm) {
            // Palette images (PNG type 3, GIF, 1/2/4-bit grey): palette colours, transparency dropped.
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int idx = raster.getSample(x, y, 0);
                    int i = y * w + x;
                    out[i] = (byte) icm.getRed(idx);
                    out[n + i] = (byte) icm.getGreen(idx);
                    out[2 * n + i] = (byte) icm.getBlue(idx);
                }
            }
            return new Rgb8(3, w, h, out);
        }

        int colours = cm.getNumColorComponents();
        int csType = cm.getColorSpace().getType();
        int[] bits = raster.getSampleModel().getSampleSize();
        if (cm instanceof PackedColorModel || colours == 3) {
            // RGB (packed or per-component), alpha (band 3) dropped.
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    raster.getPixel(x, y, pixel);
                    int i = y * w + x;
                    for (int c = 0; c < 3; c++) out[c * n + i] = (byte) to8(pixel[c], bits[c]);
                }
            }
        } else if (colours == 1) {
            // Grey (with or without alpha): replicated to three channels.
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    byte v = (byte) to8(raster.getSample(x, y, 0), bits[0]);
                    int i = y * w + x;
                    out[i] = v;
                    out[n + i] = v;
                    out[2 * n + i] = v;
                }
            }
        } else if (colours == 4 && csType == ColorSpace.TYPE_CMYK) {
            // CMYK (Adobe JPEGs): Pillow's cmyk2rgb, out = nk - nk·c/255 with nk = 255 - k.
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    raster.getPixel(x, y, pixel);
                    int nk = 255 - to8(pixel[3], bits[3]);
                    int i = y * w + x;
                    for (int c = 0; c < 3; c++) {
                        int t = to8(pixel[c], bits[c]) * nk + 128;
                        out[c * n + i] = (byte) Math.max(0, nk - (((t >> 8) + t) >> 8));
                    }
                }
            }
        } else {
            throw new IllegalArgumentException("unsupported colour model (" + colours + " colour components, colour space type "
                    + csType + "); convert the image to RGB");
        }
        return new Rgb8(3, w, h, out);
    }

    /**
     * A raw sample of {@code bits} bits as 8 bits: 8 as is; more than 8 keeps the high byte
     * (Pillow's unpacking of 16-bit RGB/RGBA/LA PNGs); fewer than 8 scales by 255/(2^bits - 1),
     * truncating, as Pillow unpacks 1/2/4-bit grey and 5/6-bit BMP fields.
     */
    static int to8(int v, int bits) {
        if (bits == 8) return v;
        if (bits > 8) return v >>> (bits - 8);
        return v * 255 / ((1 << bits) - 1);
    }
}
