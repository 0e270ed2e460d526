package dev.magvit4j.image;

import dev.magvit4j.tensor.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Helpers for the image tests: the committed fixtures (made once by
 * {@code src/test/resources/dev/magvit4j/image/make_fixtures.py}, see there for the command and
 * library versions; nothing here needs Python) and a minimal PNG encoder that writes the exact
 * colour types and bit depths ImageIO's writer will not (16-bit, 2-bit grey, grey + alpha).
 */
final class ImageFixtures {

    private ImageFixtures() {}

    /** The path of a committed fixture file. */
    static Path resource(String name) {
        try {
            var url = ImageFixtures.class.getResource(name);
            if (url == null) throw new IllegalStateException("missing test fixture " + name);
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(String name) {
        try (InputStream in = ImageFixtures.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing test fixture " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(String name) {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    /** A little-endian float32 file as a tensor of the given shape. */
    static Tensor f32(String name, int... shape) {
        ByteBuffer b = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] d = new float[b.remaining() / 4];
        b.asFloatBuffer().get(d);
        return Tensor.of(d, shape);
    }

    /** 8-bit pixel values of a tensor from {@link Images#read}: round((x + 1) * 127.5). */
    static int[] pixels(Tensor t) {
        float[] d = t.toFloatArray();
        int[] p = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            p[i] = (int) Math.rint((d[i] + 1.0) * 127.5);
            if (Images.toFloat(p[i]) != d[i]) throw new AssertionError("value " + d[i] + " at " + i + " is not on the 8-bit grid");
        }
        return p;
    }

    /**
     * A PNG of {@code width x height} with the given colour type (0 grey, 2 RGB, 4 grey+alpha,
     * 6 RGBA) and bit depth (1, 2, 4, 8, 16); {@code samples} row-major, interleaved channels.
     */
    static byte[] png(int width, int height, int colourType, int bitDepth, int[] samples) {
        int channels = switch (colourType) {
            case 0 -> 1;
            case 2 -> 3;
            case 4 -> 2;
            case 6 -> 4;
            default -> throw new IllegalArgumentException("colour type " + colourType);
        };
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        int perRow = width * channels;
        for (int y = 0; y < height; y++) {
            raw.write(0); // filter: none
            if (bitDepth >= 8) {
                for (int i = 0; i < perRow; i++) {
                    int v = samples[y * perRow + i];
                    if (bitDepth == 16) raw.write(v >>> 8);
                    raw.write(v & 0xFF);
                }
            } else {
                int acc = 0, nbits = 0;
                for (int i = 0; i < perRow; i++) {
                    acc = acc << bitDepth | samples[y * perRow + i];
                    nbits += bitDepth;
                    if (nbits == 8) {
                        raw.write(acc);
                        acc = 0;
                        nbits = 0;
                    }
                }
                if (nbits > 0) raw.write(acc << (8 - nbits));
            }
        }
        Deflater def = new Deflater();
        def.setInput(raw.toByteArray());
        def.finish();
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!def.finished()) z.write(buf, 0, def.deflate(buf));
        def.end();

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) bitDepth).put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", z.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
