package dev.magvit4j.train;

import dev.magvit4j.io.SafeTensors;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * A run's training checkpoints: {@code step-00000500.safetensors} files in one folder, the last
 * K kept. Each is written atomically (temporary file, fsync, rename, fsync of the folder; see
 * {@link SafeTensors#write}), so a crash leaves the previous checkpoints intact, and carries a
 * CRC-32 of its tensors and metadata, so a file damaged later is detected on reading and the
 * newest intact one is used instead.
 */
public final class Checkpoints {

    private static final Pattern NAME = Pattern.compile("step-(\\d{8,})\\.safetensors");
    static final String CRC = "crc32";

    private final Path dir;
    private final int keep;
    private final Consumer<String> warn;

    /** @param keep how many of the newest checkpoints to keep (at least 1) */
    public Checkpoints(Path dir, int keep, Consumer<String> warn) {
        if (keep < 1) throw new IllegalArgumentException("must keep at least one checkpoint, got " + keep);
        this.dir = dir;
        this.keep = keep;
        this.warn = warn;
    }

    public Path dir() {
        return dir;
    }

    /** A checkpoint's contents: tensors by name and string metadata. */
    public record Saved(Path file, long step, Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /** Writes step's checkpoint, then deletes all but the newest {@code keep}. Returns its path. */
    public Path save(long step, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Files.createDirectories(dir);
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("step", Long.toString(step));
        meta.put(CRC, crc(tensors, meta));
        Path file = dir.resolve(String.format("step-%08d.safetensors", step));
        SafeTensors.write(file, tensors, meta);
        // Keep this one and the newest keep-1 before it; never judge by a higher-numbered file
        // (after a fallback from a damaged checkpoint, those are stale).
        List<Path> older = new ArrayList<>();
        for (Path p : list()) if (stepOf(p) < step) older.add(p);
        for (int i = 0; i < older.size() - (keep - 1); i++) {
            try {
                Files.deleteIfExists(older.get(i));
            } catch (IOException e) {
                warn.accept("could not delete old checkpoint " + older.get(i) + " (" + e.getMessage() + ")");
            }
        }
        return file;
    }

    /** Deletes temporary files a killed save left behind ({@code .step-*.tmp}). */
    public void removeLeftovers() throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(".step-") && n.endsWith(".tmp")) Files.deleteIfExists(p);
            }
        }
    }

    /** Checkpoint files, oldest first. */
    public List<Path> list() throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .sorted((a, b) -> Long.compare(stepOf(a), stepOf(b))).toList();
        }
    }

    static long stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * The newest intact checkpoint, or null if there is none. Each damaged one (truncated, bytes
     * changed, not a checkpoint) is reported to the warning sink, renamed to {@code *.damaged}
     * (kept for inspection, out of the way of later saves) and passed over.
     */
    public Saved latest() throws IOException {
        List<Path> all = new ArrayList<>(list());
        for (int i = all.size() - 1; i >= 0; i--) {
            Path p = all.get(i);
            try {
                return read(p);
            } catch (IOException | RuntimeException e) {
                Path aside = p.resolveSibling(p.getFileName() + ".damaged");
                Files.move(p, aside, StandardCopyOption.REPLACE_EXISTING);
                warn.accept("checkpoint " + p + " is damaged (" + e.getMessage() + "); moved to " + aside.getFileName() + ", trying the one before");
            }
        }
        return null;
    }

    /** The entries under a prefix, with the prefix removed. */
    public static Map<String, Tensor> strip(Map<String, Tensor> state, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        state.forEach((k, v) -> {
            if (k.startsWith(prefix)) out.put(k.substring(prefix.length()), v);
        });
        return out;
    }

    /** An entry a checkpoint must have. */
    public static Tensor require(Map<String, Tensor> state, String key) {
        Tensor t = state.get(key);
        if (t == null) throw new IllegalArgumentException("checkpoint lacks " + key);
        return t;
    }

    /** Reads and verifies one checkpoint. */
    public static Saved read(Path file) throws IOException {
        SafeTensors.Contents c = SafeTensors.load(file);
        Map<String, String> meta = new LinkedHashMap<>(c.metadata());
        String stored = meta.remove(CRC);
        if (stored == null) throw new IOException(file + ": not a magvit4j training checkpoint (no " + CRC + " in its metadata)");
        String actual = crc(c.tensors(), meta);
        if (!stored.equals(actual)) throw new IOException(file + ": checksum mismatch (stored " + stored + ", computed " + actual + "): the file is corrupt");
        long step;
        try {
            step = Long.parseLong(meta.get("step"));
        } catch (NumberFormatException e) {
            throw new IOException(file + ": checkpoint metadata lacks its step");
        }
        return new Saved(file, step, c.tensors(), meta);
    }

    /** CRC-32 over the metadata (sorted by key) and every tensor's name, dtype, shape and little-endian bytes (sorted by name). */
    static String crc(Map<String, Tensor> tensors, Map<String, String> meta) {
        CRC32 crc = new CRC32();
        new TreeMap<>(meta).forEach((k, v) -> {
            if (!k.equals(CRC)) crc.update((k + "=" + v + "\n").getBytes(StandardCharsets.UTF_8));
        });
        new TreeMap<>(tensors).forEach((name, t) -> {
            crc.update((name + ":" + t.dtype() + Arrays.toString(t.shapeRef()) + "\n").getBytes(StandardCharsets.UTF_8));
            crc.update(bytes(t));
        });
        return String.format("%08x", crc.getValue());
    }

    private static ByteBuffer bytes(Tensor t) {
        ByteBuffer b = ByteBuffer.allocate(t.numel() * t.dtype().bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (t.dtype() == DType.FLOAT32) for (float v : t.toFloatArray()) b.putFloat(v);
        else if (t.dtype() == DType.INT64) for (long v : t.toLongArray()) b.putLong(v);
        else if (t.dtype() == DType.INT32) for (int v : t.toIntArray()) b.putInt(v);
        else throw new IllegalArgumentException("training checkpoints hold float32, int32 and int64 tensors, not " + t.dtype());
        return b.flip();
    }
}
