package dev.magvit4j.io;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * NumPy's .npy arrays and .npz archives (a zip of .npy files). Supported element types:
 * float32, float64 and float16 (read as float32), int64, int32, bool; little-endian, C order.
 */
public final class Npy {

    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    /** Headers longer than this are not NumPy's. */
    private static final int MAX_HEADER = 1 << 16;

    /** Reads every array of an .npz archive, by name without the ".npy" suffix. */
    public static Map<String, Tensor> readNpz(Path path) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(path.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.isDirectory()) continue;
                String name = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
                try (InputStream in = zip.getInputStream(e)) {
                    out.put(name, read(in, e.getSize(), path + ":" + e.getName()));
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw new IOException(path + " is not a valid .npz (zip) file: " + e.getMessage(), e);
        }
        return out;
    }

    public static Tensor readNpy(Path path) throws IOException {
        try (InputStream in = java.nio.file.Files.newInputStream(path)) {
            return read(in, java.nio.file.Files.size(path), path.toString());
        }
    }

    /** Reads one array; size is the stream's byte count when known (else -1), to bound allocations. */
    static Tensor read(InputStream in, long size, String where) throws IOException {
        byte[] magic = in.readNBytes(8);
        if (magic.length < 8 || !java.util.Arrays.equals(java.util.Arrays.copyOf(magic, 6), MAGIC)) {
            throw new IOException(where + ": not a .npy array (bad magic)");
        }
        int major = magic[6];
        byte[] lenBytes = in.readNBytes(major == 1 ? 2 : 4);
        ByteBuffer lb = ByteBuffer.wrap(java.util.Arrays.copyOf(lenBytes, 4)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = major == 1 ? (lb.getShort() & 0xffff) : lb.getInt();
        if (headerLen < 0 || headerLen > MAX_HEADER) throw new IOException(where + ": .npy header length " + headerLen + " is not plausible");
        String header = new String(in.readNBytes(headerLen), StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !s.find()) throw new IOException(where + ": .npy header lacks descr or shape: " + header.trim());
        if (f.find() && f.group(1).equals("True")) throw new IOException(where + ": Fortran-order arrays are not supported");
        String descr = d.group(1);
        int[] shape = parseShape(s.group(1), where);
        int n = Shape.numel(shape);
        int itemSize = switch (descr) {
            case "<f4", "<i4" -> 4;
            case "<f8", "<i8" -> 8;
            case "<f2" -> 2;
            case "|b1", "|u1" -> 1;
            default -> throw new IOException(where + ": unsupported .npy dtype '" + descr + "' (need <f4, <f8, <f2, <i8, <i4 or |b1)");
        };
        long bytes = (long) n * itemSize;
        if (size >= 0 && bytes > size) throw new IOException(where + ": shape " + Shape.str(shape) + " needs " + bytes + " bytes but the file holds " + size);
        if (bytes > Integer.MAX_VALUE - 64) throw new IOException(where + ": array of " + bytes + " bytes is too large");
        byte[] raw = in.readNBytes((int) bytes);
        if (raw.length != bytes) throw new IOException(where + ": truncated .npy data (" + raw.length + " of " + bytes + " bytes)");
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        return switch (descr) {
            case "<f4" -> {
                float[] v = new float[n];
                b.asFloatBuffer().get(v);
                yield wrap(v, shape);
            }
            case "<f8" -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) v[i] = (float) b.getDouble();
                yield wrap(v, shape);
            }
            case "<f2" -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) v[i] = Float.float16ToFloat(b.getShort());
                yield wrap(v, shape);
            }
            case "<i8" -> {
                long[] v = new long[n];
                b.asLongBuffer().get(v);
                yield wrap(v, shape);
            }
            case "<i4" -> {
                int[] v = new int[n];
                b.asIntBuffer().get(v);
                yield wrap(v, shape);
            }
            default -> {
                byte[] v = new byte[n];
                for (int i = 0; i < n; i++) v[i] = (byte) (raw[i] != 0 ? 1 : 0);
                yield wrap(v, shape);
            }
        };
    }

    /** A tensor of exactly this shape (a 0-d shape stays 0-d). */
    private static Tensor wrap(Object array, int[] shape) {
        return dev.magvit4j.backend.Backends.cpu().wrap(array, shape);
    }

    private static int[] parseShape(String s, String where) throws IOException {
        String[] parts = s.split(",");
        int count = 0;
        int[] shape = new int[parts.length];
        for (String p : parts) {
            String t = p.trim();
            if (t.isEmpty()) continue;
            try {
                shape[count++] = Integer.parseInt(t.endsWith("L") ? t.substring(0, t.length() - 1) : t);
            } catch (NumberFormatException e) {
                throw new IOException(where + ": bad .npy shape (" + s + ")");
            }
            if (shape[count - 1] < 0) throw new IOException(where + ": negative dimension in .npy shape (" + s + ")");
        }
        return java.util.Arrays.copyOf(shape, count);
    }

    /** Writes a float32, int64, int32 or bool tensor as .npy bytes. */
    public static byte[] toBytes(Tensor t) {
        String descr = switch (t.dtype()) {
            case FLOAT32 -> "<f4";
            case INT64 -> "<i8";
            case INT32 -> "<i4";
            case BOOL -> "|b1";
        };
        StringBuilder shape = new StringBuilder();
        for (int d : t.shapeRef()) shape.append(d).append(", ");
        String sh = t.dim() == 1 ? shape.toString().replace(", ", ",") : shape.length() > 0 ? shape.substring(0, shape.length() - 2) : "";
        String header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + sh + "), }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        int n = t.numel();
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + n * t.dtype().bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length()).put(header.getBytes(StandardCharsets.ISO_8859_1));
        switch (t.dtype()) {
            case FLOAT32 -> { for (float v : t.toFloatArray()) b.putFloat(v); }
            case INT64 -> { for (long v : t.toLongArray()) b.putLong(v); }
            case INT32 -> { for (long v : t.toLongArray()) b.putInt((int) v); }
            case BOOL -> { for (long v : t.toLongArray()) b.put((byte) (v != 0 ? 1 : 0)); }
        }
        return b.array();
    }
}
