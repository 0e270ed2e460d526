package dev.magvit4j.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Hand-assembled pickles, torch-style tensor records and zip archives for the io tests. */
final class TorchFixtures {

    private TorchFixtures() {}

    /** A pickle assembler: each method appends one opcode (and its argument). */
    static final class PickleWriter {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        PickleWriter op(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        PickleWriter raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        PickleWriter le32(long v) {
            return op((int) v, (int) (v >>> 8), (int) (v >>> 16), (int) (v >>> 24));
        }

        PickleWriter le64(long v) {
            for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
            return this;
        }

        PickleWriter proto(int v) { return op(0x80, v); }
        PickleWriter mark() { return op('('); }
        PickleWriter stop() { return op('.'); }
        PickleWriter tuple() { return op('t'); }
        PickleWriter list() { return op('l'); }
        PickleWriter emptyTuple() { return op(')'); }
        PickleWriter emptyDict() { return op('}'); }
        PickleWriter emptyList() { return op(']'); }
        PickleWriter setitem() { return op('s'); }
        PickleWriter setitems() { return op('u'); }
        PickleWriter append() { return op('a'); }
        PickleWriter appends() { return op('e'); }
        PickleWriter reduce() { return op('R'); }
        PickleWriter build() { return op('b'); }
        PickleWriter newobj() { return op(0x81); }
        PickleWriter binpersid() { return op('Q'); }
        PickleWriter none() { return op('N'); }
        PickleWriter bool(boolean b) { return op(b ? 0x88 : 0x89); }
        PickleWriter put(long i) { return i < 256 ? op('q', (int) i) : op('r').le32(i); }
        PickleWriter get(long i) { return i < 256 ? op('h', (int) i) : op('j').le32(i); }

        PickleWriter str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return op('X').le32(b.length).raw(b);
        }

        PickleWriter integer(long v) {
            if (v >= 0 && v < 256) return op('K', (int) v);
            if (v >= 0 && v < 65536) return op('M', (int) v, (int) (v >>> 8));
            if (v == (int) v) return op('J').le32(v);
            return op(0x8a, 8).le64(v);
        }

        PickleWriter binfloat(double d) {
            long bits = Double.doubleToLongBits(d);
            op('G');
            for (int i = 7; i >= 0; i--) out.write((int) (bits >>> (8 * i)));
            return this;
        }

        PickleWriter global(String module, String name) {
            return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        }

        PickleWriter ints(long... values) {
            mark();
            for (long v : values) integer(v);
            return tuple();
        }

        /** ('storage', torch.<type>, key, 'cpu', numel) BINPERSID. */
        PickleWriter storage(String type, String key, long numel) {
            return mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel).tuple().binpersid();
        }

        /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
        PickleWriter tensor(String type, String key, long storageNumel, long offset, long[] size, long[] stride) {
            return global("torch._utils", "_rebuild_tensor_v2").tensorArgs(type, key, storageNumel, offset, size, stride).reduce();
        }

        /** The argument tuple of _rebuild_tensor_v2. */
        PickleWriter tensorArgs(String type, String key, long storageNumel, long offset, long[] size, long[] stride) {
            mark();
            storage(type, key, storageNumel);
            integer(offset).ints(size).ints(stride).bool(false).global("collections", "OrderedDict").emptyTuple().reduce();
            return tuple();
        }

        /** A contiguous float tensor over a whole FloatStorage. */
        PickleWriter floats(String key, long... size) {
            long n = 1;
            for (long d : size) n *= d;
            return tensor("FloatStorage", key, n, 0, size, contiguous(size));
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    static long[] longs(long... v) {
        return v;
    }

    static long[] contiguous(long... size) {
        long[] s = new long[size.length];
        long st = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            s[i] = st;
            st *= Math.max(1, size[i]);
        }
        return s;
    }

    static byte[] le(int itemSize, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * itemSize).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (itemSize) {
                case 1 -> b.put((byte) v);
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                default -> b.putLong(v);
            }
        }
        return b.array();
    }

    static byte[] f32(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }

    /** A zip of STORED entries written by java.util.zip. */
    static byte[] storedZip(Map<String, byte[]> entries) {
        return zip(entries, ZipEntry.STORED);
    }

    static byte[] zip(Map<String, byte[]> entries, int method) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ZipOutputStream z = new ZipOutputStream(bytes)) {
                for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                    ZipEntry ze = new ZipEntry(e.getKey());
                    ze.setMethod(method);
                    if (method == ZipEntry.STORED) {
                        CRC32 crc = new CRC32();
                        crc.update(e.getValue());
                        ze.setSize(e.getValue().length);
                        ze.setCompressedSize(e.getValue().length);
                        ze.setCrc(crc.getValue());
                    }
                    z.putNextEntry(ze);
                    z.write(e.getValue());
                    z.closeEntry();
                }
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The entries of a torch archive: prefix/data.pkl, prefix/data/key..., prefix/version, prefix/byteorder. */
    static Map<String, byte[]> archive(String prefix, byte[] pickle, Map<String, byte[]> storages) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put(prefix + "/data.pkl", pickle);
        m.put(prefix + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        for (Map.Entry<String, byte[]> e : storages.entrySet()) m.put(prefix + "/data/" + e.getKey(), e.getValue());
        m.put(prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return m;
    }

    /**
     * A zip written byte by byte the way PyTorch's writer does: STORED entries whose data is
     * aligned to {@code align} bytes by an "FB" padding extra field, and optionally ZIP64 sizes
     * and offsets in every header (0xFFFFFFFF in the 32-bit fields) with a ZIP64 end record.
     */
    static byte[] rawZip(Map<String, byte[]> entries, boolean zip64, int align) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream central = new ByteArrayOutputStream();
        int count = 0;
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] data = e.getValue();
            CRC32 crc = new CRC32();
            crc.update(data);
            long offset = out.size();
            int zip64Local = zip64 ? 20 : 0;
            int headerEnd = (int) offset + 30 + name.length + zip64Local;
            int pad = align <= 1 ? 0 : (align - (headerEnd + 4) % align) % align;
            ByteBuffer h = ByteBuffer.allocate(30 + name.length + zip64Local + (align <= 1 ? 0 : 4 + pad)).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(0x04034b50).putShort((short) (zip64 ? 45 : 20)).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue())
                    .putInt(zip64 ? -1 : data.length).putInt(zip64 ? -1 : data.length)
                    .putShort((short) name.length).putShort((short) (h.capacity() - 30 - name.length)).put(name);
            if (zip64) h.putShort((short) 1).putShort((short) 16).putLong(data.length).putLong(data.length);
            if (align > 1) {
                h.putShort((short) 0x4246).putShort((short) pad);
                for (int i = 0; i < pad; i++) h.put((byte) 'Z');
            }
            out.writeBytes(h.array());
            out.writeBytes(data);
            ByteBuffer c = ByteBuffer.allocate(46 + name.length + (zip64 ? 28 : 0)).order(ByteOrder.LITTLE_ENDIAN);
            c.putInt(0x02014b50).putShort((short) (zip64 ? 45 : 20)).putShort((short) (zip64 ? 45 : 20)).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue())
                    .putInt(zip64 ? -1 : data.length).putInt(zip64 ? -1 : data.length)
                    .putShort((short) name.length).putShort((short) (zip64 ? 28 : 0)).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0).putInt(zip64 ? -1 : (int) offset).put(name);
            if (zip64) c.putShort((short) 1).putShort((short) 24).putLong(data.length).putLong(data.length).putLong(offset);
            central.writeBytes(c.array());
            count++;
        }
        long cdOffset = out.size();
        long cdSize = central.size();
        out.writeBytes(central.toByteArray());
        if (zip64) {
            long rec = out.size();
            ByteBuffer r = ByteBuffer.allocate(56 + 20).order(ByteOrder.LITTLE_ENDIAN);
            r.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(count).putLong(count).putLong(cdSize).putLong(cdOffset);
            r.putInt(0x07064b50).putInt(0).putLong(rec).putInt(1);
            out.writeBytes(r.array());
        }
        ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0)
                .putShort((short) (zip64 ? -1 : count)).putShort((short) (zip64 ? -1 : count))
                .putInt(zip64 ? -1 : (int) cdSize).putInt(zip64 ? -1 : (int) cdOffset).putShort((short) 0);
        out.writeBytes(end.array());
        return out.toByteArray();
    }
}
