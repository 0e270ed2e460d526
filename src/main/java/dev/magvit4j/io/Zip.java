package dev.magvit4j.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A read-only ZIP archive over a memory-mapped file (or any {@link MemorySegment}), as written
 * by {@code torch.save}: entries STORED (64-byte aligned by PyTorch) or DEFLATED, ZIP64 records
 * and extra fields for large archives. Nothing is read into the heap except the central
 * directory: {@link #data} of a stored entry is a slice of the mapping.
 *
 * <p>Every offset and size is checked against the file before it is used: the end record, the
 * ZIP64 locator and record, each central-directory entry and its local header (signature, name
 * and data range). Anything that does not fit raises a {@link CheckpointException} naming the
 * file and the problem. Encrypted and multi-disk archives are refused.
 */
public final class Zip implements AutoCloseable {

    /** Compression methods. */
    public static final int STORED = 0, DEFLATED = 8;

    private static final int EOCD_SIG = 0x06054b50, EOCD64_SIG = 0x06064b50, LOCATOR64_SIG = 0x07064b50;
    private static final int CENTRAL_SIG = 0x02014b50, LOCAL_SIG = 0x04034b50;
    private static final int EOCD_SIZE = 22, CENTRAL_SIZE = 46, LOCAL_SIZE = 30, LOCATOR64_SIZE = 20, EOCD64_SIZE = 56;
    private static final long U32_MAX = 0xFFFFFFFFL;
    /** DEFLATE cannot expand data by more than about 1032:1. */
    private static final long MAX_DEFLATE_RATIO = 1032;

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * One archive member. {@code dataOffset} is where its (compressed) bytes start in the file,
     * already checked to lie inside it.
     */
    public record Entry(String name, int method, long compressedSize, long size, long crc, long localHeaderOffset, long dataOffset) {}

    private final String source;
    private final MemorySegment file;
    private final Arena arena;
    private final Map<String, Entry> entries;
    private final Set<String> verified = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private Zip(String source, MemorySegment file, Arena arena) throws CheckpointException {
        this.source = source;
        this.file = file;
        this.arena = arena;
        this.entries = Collections.unmodifiableMap(readCentralDirectory());
    }

    /** Memory-maps a file and reads its central directory. */
    public static Zip open(Path path) throws IOException {
        String source = path.toString();
        if (Files.isDirectory(path)) throw new CheckpointException(source + ": is a directory, not a file");
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = ch.size();
                seg = size == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (NoSuchFileException e) {
                throw new CheckpointException(source + ": no such file", e);
            } catch (AccessDeniedException e) {
                throw new CheckpointException(source + ": permission denied", e);
            } catch (CheckpointException e) {
                throw e;
            } catch (IOException e) {
                throw new CheckpointException(source + ": cannot read: " + e.getMessage(), e);
            }
            return new Zip(source, seg, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Reads an archive held in a segment the caller owns (e.g. {@code MemorySegment.ofArray(bytes)}). */
    public static Zip of(MemorySegment bytes, String source) throws CheckpointException {
        return new Zip(source, bytes, null);
    }

    /** The name used in error messages (the path given to {@link #open}). */
    public String source() {
        return source;
    }

    /** The whole file. */
    public MemorySegment segment() {
        checkOpen();
        return file;
    }

    /** The entries by name, in central-directory order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** The entry of that name, or null. */
    public Entry entry(String name) {
        return entries.get(name);
    }

    /**
     * The uncompressed bytes of an entry: a slice of the mapping for a STORED entry (no copy), a
     * heap segment of exactly the declared size for a DEFLATED one. Does not check the CRC; see
     * {@link #verify}.
     */
    public MemorySegment data(Entry e) throws CheckpointException {
        checkOpen();
        return switch (e.method()) {
            case STORED -> file.asSlice(e.dataOffset(), e.size());
            case DEFLATED -> MemorySegment.ofArray(inflate(e));
            default -> throw fail("entry " + e.name() + " uses compression method " + e.method() + "; only stored (0) and deflated (8) are supported");
        };
    }

    /** The uncompressed bytes of an entry as a new array (entries up to 2 GiB). */
    public byte[] bytes(Entry e) throws CheckpointException {
        if (e.size() > Integer.MAX_VALUE - 16) throw fail("entry " + e.name() + " of " + e.size() + " bytes is too large to read into an array");
        MemorySegment d = data(e);
        return d.heapBase().orElse(null) instanceof byte[] b && b.length == d.byteSize() ? b : d.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Checks an entry's CRC-32 (once per entry; later calls return at once). */
    public void verify(Entry e) throws CheckpointException {
        if (verified.contains(e.name())) return;
        MemorySegment d = data(e);
        CRC32 crc = new CRC32();
        long chunk = 1L << 30;
        for (long at = 0; at < d.byteSize(); at += chunk) {
            crc.update(d.asSlice(at, Math.min(chunk, d.byteSize() - at)).asByteBuffer());
        }
        if (crc.getValue() != e.crc()) {
            throw fail(String.format("corrupt: entry %s fails its CRC-32 check (recorded %08x, computed %08x)", e.name(), e.crc(), crc.getValue()));
        }
        verified.add(e.name());
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (arena != null) arena.close();
    }

    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(source + " is closed");
    }

    private CheckpointException fail(String problem) {
        return new CheckpointException(source + ": " + problem);
    }

    // ---------------------------------------------------------------- parsing

    private int u16(long at) {
        return file.get(LE_SHORT, at) & 0xffff;
    }

    private long u32(long at) {
        return file.get(LE_INT, at) & U32_MAX;
    }

    private long u64(long at) {
        return file.get(LE_LONG, at);
    }

    private Map<String, Entry> readCentralDirectory() throws CheckpointException {
        long size = file.byteSize();
        if (size < EOCD_SIZE) {
            throw fail("not a zip archive: " + size + " bytes is too short to hold a zip end-of-central-directory record");
        }
        long eocd = -1;
        long lowest = Math.max(0, size - EOCD_SIZE - 0xFFFF);
        for (long p = size - EOCD_SIZE; p >= lowest; p--) {
            if (file.get(ValueLayout.JAVA_BYTE, p) == 'P' && u32(p) == EOCD_SIG && p + EOCD_SIZE + u16(p + 20) <= size) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) {
            boolean looksZip = u32(0) == LOCAL_SIG;
            throw fail(looksZip
                    ? "truncated or corrupt: the file starts like a zip archive but has no end-of-central-directory record"
                    : "not a zip archive (no end-of-central-directory record)");
        }
        int disk = u16(eocd + 4), cdDisk = u16(eocd + 6);
        long count = u16(eocd + 10);
        long cdSize = u32(eocd + 12);
        long cdOffset = u32(eocd + 16);
        long cdLimit = eocd; // the central directory must end before this
        if (eocd >= LOCATOR64_SIZE && u32(eocd - LOCATOR64_SIZE) == LOCATOR64_SIG) {
            long loc = eocd - LOCATOR64_SIZE;
            long rec = u64(loc + 8);
            if (rec < 0 || rec > loc - EOCD64_SIZE) {
                throw fail("corrupt: the zip64 end record is said to be at byte " + Long.toUnsignedString(rec) + " but must end before byte " + loc);
            }
            if (u32(rec) != EOCD64_SIG) throw fail("corrupt: no zip64 end-of-central-directory record at byte " + rec);
            disk = (int) Math.min(u32(rec + 16), Integer.MAX_VALUE);
            cdDisk = (int) Math.min(u32(rec + 20), Integer.MAX_VALUE);
            count = u64(rec + 32);
            cdSize = u64(rec + 40);
            cdOffset = u64(rec + 48);
            cdLimit = rec;
        }
        if (disk != 0 || cdDisk != 0) throw fail("multi-disk (spanned) zip archives are not supported");
        if (cdOffset < 0 || cdSize < 0 || cdOffset > cdLimit || cdSize > cdLimit - cdOffset) {
            throw fail("truncated: zip central directory ends at byte " + Long.toUnsignedString(cdOffset + cdSize)
                    + " but the file has " + cdLimit + " bytes before its end record");
        }
        if (count < 0 || count > cdSize / CENTRAL_SIZE) {
            throw fail("corrupt: " + Long.toUnsignedString(count) + " zip entries cannot fit in a central directory of " + cdSize + " bytes");
        }
        long cdEnd = cdOffset + cdSize;
        Map<String, Entry> out = new LinkedHashMap<>();
        long p = cdOffset;
        long[] next = new long[1];
        for (long i = 0; i < count; i++) {
            Entry e = readEntry(p, cdEnd, cdOffset, i, next);
            if (out.putIfAbsent(e.name(), e) != null) throw fail("corrupt: zip entry " + e.name() + " appears twice");
            p = next[0];
        }
        return out;
    }

    /** Reads the central-directory entry at p and checks its local header; next[0] receives the following entry's position. */
    private Entry readEntry(long p, long cdEnd, long cdOffset, long index, long[] next) throws CheckpointException {
        if (p > cdEnd - CENTRAL_SIZE) throw fail("corrupt: zip central directory entry " + index + " at byte " + p + " runs past its end at byte " + cdEnd);
        if (u32(p) != CENTRAL_SIG) throw fail("corrupt: no zip central directory entry at byte " + p + " (entry " + index + ")");
        int flags = u16(p + 8), method = u16(p + 10);
        long crc = u32(p + 16), csize = u32(p + 20), usize = u32(p + 24);
        int nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32), diskStart = u16(p + 34);
        long local = u32(p + 42);
        long nameAt = p + CENTRAL_SIZE, extraAt = nameAt + nameLen;
        long end = extraAt + extraLen + commentLen;
        if (end > cdEnd) throw fail("corrupt: zip central directory entry " + index + " at byte " + p + " runs past its end at byte " + cdEnd);
        byte[] nameBytes = file.asSlice(nameAt, nameLen).toArray(ValueLayout.JAVA_BYTE);
        String name = new String(nameBytes, StandardCharsets.UTF_8);
        // ZIP64 extended information: the 8-byte values of the fields set to 0xFFFFFFFF, in order.
        boolean needU = usize == U32_MAX, needC = csize == U32_MAX, needL = local == U32_MAX;
        for (long x = extraAt; x + 4 <= extraAt + extraLen; ) {
            int id = u16(x), len = u16(x + 2);
            long body = x + 4;
            if (body + len > extraAt + extraLen) throw fail("corrupt: extra field of zip entry " + name + " runs past its end");
            if (id == 0x0001) {
                long q = body, qEnd = body + len;
                if (needU) { if (q + 8 > qEnd) throw zip64Missing(name); usize = u64(q); q += 8; needU = false; }
                if (needC) { if (q + 8 > qEnd) throw zip64Missing(name); csize = u64(q); q += 8; needC = false; }
                if (needL) { if (q + 8 > qEnd) throw zip64Missing(name); local = u64(q); needL = false; }
            }
            x = body + len;
        }
        if (needU || needC || needL) throw zip64Missing(name);
        if (diskStart != 0 && diskStart != 0xFFFF) throw fail("multi-disk (spanned) zip archives are not supported");
        if ((flags & 1) != 0) throw fail("zip entry " + name + " is encrypted; encrypted archives are not supported");
        if (usize < 0 || csize < 0 || local < 0) throw fail("corrupt: zip entry " + name + " has a size or offset beyond 2^63");
        if (method == STORED && csize != usize) {
            throw fail("corrupt: stored zip entry " + name + " has compressed size " + csize + " but size " + usize);
        }
        // The local header: signature, the same name, then the data, all before the central directory.
        if (local > cdOffset - LOCAL_SIZE) {
            throw fail("truncated or corrupt: local header of zip entry " + name + " at byte " + local + " lies past the central directory at byte " + cdOffset);
        }
        if (u32(local) != LOCAL_SIG) throw fail("corrupt: no local header for zip entry " + name + " at byte " + local);
        int localNameLen = u16(local + 26), localExtraLen = u16(local + 28);
        long data = local + LOCAL_SIZE + localNameLen + localExtraLen;
        if (data > cdOffset) throw fail("corrupt: local header of zip entry " + name + " at byte " + local + " runs into the central directory");
        if (localNameLen != nameLen || MemorySegment.mismatch(file, local + LOCAL_SIZE, local + LOCAL_SIZE + nameLen, MemorySegment.ofArray(nameBytes), 0, nameLen) != -1) {
            throw fail("corrupt: the local header at byte " + local + " does not name zip entry " + name);
        }
        if (csize > cdOffset - data) {
            throw fail("truncated: data of zip entry " + name + " ends at byte " + (data + csize) + " but the central directory starts at byte " + cdOffset);
        }
        next[0] = end;
        return new Entry(name, method, csize, usize, crc, local, data);
    }

    private CheckpointException zip64Missing(String name) {
        return fail("corrupt: zip entry " + name + " lacks the zip64 sizes its header refers to");
    }

    private byte[] inflate(Entry e) throws CheckpointException {
        if (e.size() > Integer.MAX_VALUE - 16) throw fail("deflated zip entry " + e.name() + " of " + e.size() + " bytes is too large to inflate");
        if (e.size() > e.compressedSize() * MAX_DEFLATE_RATIO + 1024) {
            throw fail("corrupt: deflated zip entry " + e.name() + " claims " + e.size() + " bytes from " + e.compressedSize() + " compressed bytes");
        }
        if (e.compressedSize() > Integer.MAX_VALUE) throw fail("deflated zip entry " + e.name() + " is too large to inflate");
        byte[] out = new byte[(int) e.size()];
        Inflater inf = new Inflater(true);
        try {
            ByteBuffer in = file.asSlice(e.dataOffset(), e.compressedSize()).asByteBuffer();
            inf.setInput(in);
            int at = 0, stalls = 0;
            while (at < out.length && stalls < 2) {
                int n = inf.inflate(out, at, out.length - at);
                if (n == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) break;
                stalls = n == 0 ? stalls + 1 : 0;
                at += n;
            }
            if (at < out.length) {
                throw fail("corrupt: deflated zip entry " + e.name() + " inflates to " + at + " bytes but declares " + e.size());
            }
            if (!inf.finished() && inf.inflate(new byte[1]) > 0) {
                throw fail("corrupt: deflated zip entry " + e.name() + " inflates to more than the " + e.size() + " bytes it declares");
            }
        } catch (DataFormatException ex) {
            throw fail("corrupt: deflated zip entry " + e.name() + ": " + ex.getMessage());
        } finally {
            inf.end();
        }
        return out;
    }

    /** Names of the first few entries, for messages. */
    String someNames(int max) {
        List<String> names = new ArrayList<>();
        for (String n : entries.keySet()) {
            if (names.size() == max) {
                names.add("...");
                break;
            }
            names.add(n);
        }
        return String.join(", ", names);
    }
}
