package dev.magvit4j.io;

import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value"}}}), then the tensors' bytes, little-endian and row-major.
 *
 * <p>Reading maps the file and copies each tensor straight into its array. Types read: F32,
 * F16, BF16, F64 (all as float32), I64, I32, I16, I8, U8 (as int32), BOOL. Types written: F32,
 * I64, I32, BOOL (every dtype a tensor can have). The header is validated strictly: its length
 * (at most 100 MB and inside the file), JSON syntax, exactly the three fields per tensor,
 * offsets that cover the data with no gap or overlap, and shape × element size equal to each
 * tensor's byte length. Problems raise a {@link CheckpointException} naming the file.
 *
 * <p>Writing is atomic: the bytes go to a temporary file in the same folder, which is synced and
 * then renamed over the destination; a crash leaves either the old file or the complete new one.
 */
public final class SafeTensors {

    private SafeTensors() {}

    /** Headers longer than this are refused (the reference implementation's limit). */
    public static final long MAX_HEADER = 100_000_000L;
    private static final String METADATA = "__metadata__";
    private static final Set<String> FIELDS = Set.of("dtype", "shape", "data_offsets");

    /** Tensors (in header order) and the string metadata (empty when absent). */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /** Reads every tensor of a file, in header order. */
    public static Map<String, Tensor> read(Path path) throws IOException {
        return load(path).tensors();
    }

    /** Reads the tensors and the metadata of a file. */
    public static Contents load(Path path) throws IOException {
        String source = path.toString();
        try (Arena arena = Arena.ofConfined(); FileChannel ch = open(path)) {
            long size = ch.size();
            MemorySegment seg = size == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(seg, source);
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException e) {
            throw new CheckpointException(source + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static FileChannel open(Path path) throws CheckpointException {
        String source = path.toString();
        if (Files.isDirectory(path)) throw new CheckpointException(source + ": is a directory, not a file");
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(source + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new CheckpointException(source + ": permission denied", e);
        } catch (IOException e) {
            throw new CheckpointException(source + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads safetensors bytes held in memory; {@code name} is used in messages. */
    public static Contents read(byte[] data, String name) throws CheckpointException {
        return parse(MemorySegment.ofArray(data), name);
    }

    /** Only the metadata of a file (the tensors are not read). */
    public static Map<String, String> metadata(Path path) throws IOException {
        String source = path.toString();
        try (FileChannel ch = open(path)) {
            return header(ch, source).metadata;
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException e) {
            throw new CheckpointException(source + ": cannot read: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- reading

    private record Spec(String name, Elements type, int[] shape, long begin, long end) {}

    private record Header(List<Spec> specs, Map<String, String> metadata, long dataStart) {}

    private static Contents parse(MemorySegment seg, String source) throws CheckpointException {
        long size = seg.byteSize();
        if (size < 8) throw new CheckpointException(source + ": truncated: " + size + " bytes cannot hold a safetensors header length");
        long n = seg.get(Zip.LE_LONG, 0);
        byte[] json = headerBytes(n, size, source);
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, 8, json, 0, json.length);
        Header h = parseHeader(json, size, source);
        long heap = 0;
        for (Spec s : h.specs) heap += numel(s.shape) * s.type.target.bytes;
        if (heap > Runtime.getRuntime().maxMemory()) {
            throw new CheckpointException(source + ": reading it needs " + heap + " bytes of heap but the JVM may use at most "
                    + Runtime.getRuntime().maxMemory() + " (raise -Xmx)");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Spec s : h.specs) {
            long[] strides = new long[s.shape.length];
            long st = 1;
            for (int i = s.shape.length - 1; i >= 0; i--) {
                strides[i] = st;
                st *= Math.max(1, s.shape[i]);
            }
            out.put(s.name, s.type.read(seg, h.dataStart + s.begin, s.shape, strides, 0));
        }
        return new Contents(Collections.unmodifiableMap(out), h.metadata);
    }

    private static Header header(FileChannel ch, String source) throws IOException {
        long size = ch.size();
        if (size < 8) throw new CheckpointException(source + ": truncated: " + size + " bytes cannot hold a safetensors header length");
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        while (len.hasRemaining() && ch.read(len, len.position()) > 0) { }
        byte[] json = headerBytes(len.getLong(0), size, source);
        ByteBuffer b = ByteBuffer.wrap(json);
        while (b.hasRemaining() && ch.read(b, 8 + b.position()) > 0) { }
        if (b.hasRemaining()) throw new CheckpointException(source + ": truncated header");
        return parseHeader(json, size, source);
    }

    private static byte[] headerBytes(long n, long fileSize, String source) throws CheckpointException {
        if (n < 2 || n > MAX_HEADER) {
            throw new CheckpointException(source + ": not a safetensors file: header length " + Long.toUnsignedString(n)
                    + " is not plausible (2 to " + MAX_HEADER + " bytes)");
        }
        if (n > fileSize - 8) {
            throw new CheckpointException(source + ": truncated: the safetensors header needs " + n + " bytes but the file has " + (fileSize - 8) + " after the length");
        }
        return new byte[(int) n];
    }

    private static Header parseHeader(byte[] json, long fileSize, String source) throws CheckpointException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(source + ": the safetensors header is not valid UTF-8");
        }
        if (!text.startsWith("{")) throw new CheckpointException(source + ": not a safetensors file: the header does not start with '{'");
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(source + ": the safetensors header is not valid JSON: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> map)) throw new CheckpointException(source + ": the safetensors header is not a JSON object");
        long dataStart = 8 + json.length;
        long dataLen = fileSize - dataStart;
        List<Spec> specs = new ArrayList<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA)) {
                metadata = metadata(e.getValue(), source);
                continue;
            }
            specs.add(spec(name, e.getValue(), dataLen, source));
        }
        // The offsets must tile the data exactly: sorted, contiguous from 0 to its end.
        List<Spec> sorted = new ArrayList<>(specs);
        sorted.sort(Comparator.comparingLong(Spec::begin).thenComparingLong(Spec::end));
        long at = 0;
        for (Spec s : sorted) {
            if (s.begin != at) {
                throw new CheckpointException(source + ": invalid data_offsets: tensor '" + s.name + "' starts at byte " + s.begin
                        + " of the data but the previous tensor ends at " + at + (s.begin > at ? " (a gap)" : " (an overlap)"));
            }
            at = s.end;
        }
        if (at != dataLen) {
            throw new CheckpointException(source + ": " + (at > dataLen ? "truncated" : "invalid") + ": the tensors cover " + at
                    + " bytes of data but the file holds " + dataLen);
        }
        return new Header(specs, metadata, dataStart);
    }

    private static Map<String, String> metadata(Object v, String source) throws CheckpointException {
        if (!(v instanceof Map<?, ?> m)) throw new CheckpointException(source + ": __metadata__ must be a JSON object of strings");
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new CheckpointException(source + ": __metadata__ value of '" + e.getKey() + "' is not a string");
            }
            out.put((String) e.getKey(), s);
        }
        return Collections.unmodifiableMap(out);
    }

    private static Spec spec(String name, Object v, long dataLen, String source) throws CheckpointException {
        String where = source + ": tensor '" + name + "': ";
        if (!(v instanceof Map<?, ?> m)) throw new CheckpointException(where + "header entry is not a JSON object");
        for (Object k : m.keySet()) {
            if (!FIELDS.contains(k)) throw new CheckpointException(where + "unexpected header field '" + k + "'");
        }
        if (!(m.get("dtype") instanceof String dtype)) throw new CheckpointException(where + "missing or non-string dtype");
        Elements type = switch (dtype) {
            case "F32" -> Elements.F32;
            case "F16" -> Elements.F16;
            case "BF16" -> Elements.BF16;
            case "F64" -> Elements.F64;
            case "I64" -> Elements.I64;
            case "I32" -> Elements.I32;
            case "I16" -> Elements.I16;
            case "I8" -> Elements.I8;
            case "U8" -> Elements.U8;
            case "BOOL" -> Elements.BOOL;
            default -> throw new CheckpointException(where + "unsupported dtype '" + dtype + "' (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
        };
        if (!(m.get("shape") instanceof List<?> sl)) throw new CheckpointException(where + "missing shape");
        if (sl.size() > 64) throw new CheckpointException(where + "shape has " + sl.size() + " dimensions (at most 64)");
        long[] lshape = new long[sl.size()];
        for (int i = 0; i < lshape.length; i++) {
            if (!(sl.get(i) instanceof Long d) || d < 0) throw new CheckpointException(where + "shape " + sl + " must hold non-negative integers");
            lshape[i] = d;
        }
        long numel = Elements.numel(lshape);
        if (numel < 0) throw new CheckpointException(where + "shape " + sl + " has more than 2^31-1 elements");
        if (!(m.get("data_offsets") instanceof List<?> ol) || ol.size() != 2 || !(ol.get(0) instanceof Long begin) || !(ol.get(1) instanceof Long end)) {
            throw new CheckpointException(where + "data_offsets must be [begin, end]");
        }
        if (begin < 0 || end < begin || end > dataLen) {
            throw new CheckpointException(where + "data_offsets [" + begin + ", " + end + "] lie outside the " + dataLen + " bytes of data");
        }
        if (end - begin != numel * type.size) {
            throw new CheckpointException(where + "shape " + sl + " of " + dtype + " needs " + numel * type.size
                    + " bytes but data_offsets give " + (end - begin));
        }
        int[] shape = new int[lshape.length];
        for (int i = 0; i < shape.length; i++) shape[i] = (int) lshape[i];
        return new Spec(name, type, shape, begin, end);
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    // ---------------------------------------------------------------- writing

    /** Writes tensors (in map order) atomically. */
    public static void write(Path path, Map<String, Tensor> tensors) throws IOException {
        write(path, tensors, Map.of());
    }

    /** Writes tensors (in map order) and string metadata atomically. */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        String source = path.toString();
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            json.append(quote(METADATA)).append(":{");
            boolean first = true;
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) throw new IllegalArgumentException(source + ": metadata keys and values must not be null");
                if (!first) json.append(',');
                first = false;
                json.append(quote(e.getKey())).append(':').append(quote(e.getValue()));
            }
            json.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null || name.equals(METADATA)) throw new IllegalArgumentException(source + ": invalid tensor name " + name);
            if (t == null) throw new IllegalArgumentException(source + ": tensor '" + name + "' is null");
            String dtype = switch (t.dtype()) {
                case FLOAT32 -> "F32";
                case INT64 -> "I64";
                case INT32 -> "I32";
                case BOOL -> "BOOL";
            };
            long bytes = (long) t.numel() * t.dtype().bytes;
            if (json.length() > 1) json.append(',');
            json.append(quote(name)).append(":{\"dtype\":\"").append(dtype).append("\",\"shape\":[");
            int[] shape = t.shapeRef();
            for (int i = 0; i < shape.length; i++) json.append(i > 0 ? "," : "").append(shape[i]);
            json.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        json.append('}');
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8; // the data starts 8-byte aligned
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(header);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = null;
        boolean moved = false;
        try {
            Path[] created = new Path[1];
            FileChannel ch = AtomicFiles.createSibling(target, created);
            tmp = created[0];
            try (FileChannel out = ch) {
                writeFully(out, head);
                for (Tensor t : tensors.values()) writeTensor(out, t);
                out.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // make the rename durable
            } catch (IOException ignored) {
                // some platforms cannot sync a directory
            }
        } catch (IOException e) {
            throw new CheckpointException(source + ": cannot write: " + e, e);
        } finally {
            if (!moved && tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    private static void writeTensor(FileChannel out, Tensor t) throws IOException {
        int n = t.numel();
        int chunk = 1 << 18;
        ByteBuffer b = ByteBuffer.allocate(chunk * t.dtype().bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case FLOAT32 -> {
                float[] v = t.toFloatArray();
                for (int i = 0; i < n; i += chunk) {
                    b.clear();
                    b.asFloatBuffer().put(v, i, Math.min(chunk, n - i));
                    b.limit(Math.min(chunk, n - i) * 4);
                    writeFully(out, b);
                }
            }
            case INT64 -> {
                long[] v = t.toLongArray();
                for (int i = 0; i < n; i += chunk) {
                    b.clear();
                    b.asLongBuffer().put(v, i, Math.min(chunk, n - i));
                    b.limit(Math.min(chunk, n - i) * 8);
                    writeFully(out, b);
                }
            }
            case INT32 -> {
                long[] v = t.toLongArray();
                for (int i = 0; i < n; i += chunk) {
                    b.clear();
                    int m = Math.min(chunk, n - i);
                    for (int j = 0; j < m; j++) b.putInt((int) v[i + j]);
                    b.flip();
                    writeFully(out, b);
                }
            }
            case BOOL -> {
                long[] v = t.toLongArray();
                for (int i = 0; i < n; i += chunk) {
                    b.clear();
                    int m = Math.min(chunk, n - i);
                    for (int j = 0; j < m; j++) b.put((byte) (v[i + j] != 0 ? 1 : 0));
                    b.flip();
                    writeFully(out, b);
                }
            }
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) out.write(b);
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}
