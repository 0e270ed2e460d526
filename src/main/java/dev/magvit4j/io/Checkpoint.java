package dev.magvit4j.io;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PyTorch ({@code torch.save}, zip format of torch &gt;= 1.6) or PyTorch Lightning checkpoint:
 * {@code <prefix>/data.pkl} (the pickled object) and {@code <prefix>/data/<key>} (one entry per
 * storage). The file is memory-mapped; the pickle is read by the restricted {@link Pickle}
 * (nothing in it is ever executed), and each tensor is copied straight from the mapping into
 * its own array when it is asked for, so the heap holds the tensors once and never the file.
 *
 * <pre>{@code
 * try (Checkpoint ckpt = Checkpoint.open(Path.of("model.ckpt"))) {
 *     Map<String, Tensor> encoder = ckpt.tensors("encoder");      // "conv_in.weight", ...
 *     Object epoch = ((Map<?, ?>) ckpt.root()).get("epoch");         // Lightning metadata
 * }
 * }</pre>
 *
 * <p>Tensors come from {@code torch._utils._rebuild_tensor_v2} (also {@code _rebuild_tensor},
 * {@code _rebuild_parameter}, {@code _rebuild_parameter_with_state} and
 * {@code torch._tensor._rebuild_from_type_v2} around them) over the storage types Float, Half
 * and BFloat16 and Double (all read as float32), Long (int64), Int (int32), Short, Char and Byte
 * (int32; Byte is unsigned), Bool, and UntypedStorage (bytes, read as uint8). Size, stride and
 * storage offset are honoured (the view is copied into a contiguous tensor); every element a
 * view addresses must lie inside its storage, and a storage's declared size must fit its
 * entry. In {@link #root()} tensors appear as {@link TensorRef}s, not yet read; other classes
 * as {@link Pickle.Opaque}. A storage's CRC-32 is checked the first time a tensor reads it.
 *
 * <p>Every problem raises a {@link CheckpointException} whose message names the file.
 */
public final class Checkpoint implements AutoCloseable {

    private final String source;
    private final Zip zip;
    private final String prefix;
    private final Object root;

    private Checkpoint(String source, Zip zip) throws CheckpointException {
        this.source = source;
        this.zip = zip;
        Zip.Entry pkl = findDataPkl();
        String name = pkl.name();
        this.prefix = name.substring(0, name.length() - "data.pkl".length());
        checkByteOrder();
        zip.verify(pkl);
        this.root = Pickle.load(zip.data(pkl), source + ": " + name, new TorchResolver());
    }

    /** Memory-maps and reads a checkpoint file. Close it to unmap (tensors already read stay valid). */
    public static Checkpoint open(Path path) throws IOException {
        Zip zip;
        try {
            zip = Zip.open(path);
        } catch (CheckpointException e) {
            String legacy = legacyFormat(path);
            if (legacy != null) throw new CheckpointException(path + ": " + legacy, e);
            throw e;
        }
        try {
            return new Checkpoint(path.toString(), zip);
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    /** Reads a checkpoint held in memory; {@code name} is used in error messages. */
    public static Checkpoint read(byte[] data, String name) throws CheckpointException {
        return new Checkpoint(name, Zip.of(MemorySegment.ofArray(data), name));
    }

    /** The unpickled top-level object (for Lightning: a Map with epoch, global_step, state_dict, ...). */
    public Object root() {
        return root;
    }

    /** The archive's folder prefix, e.g. "archive/" (empty when data.pkl is at the top). */
    public String prefix() {
        return prefix;
    }

    /** The file name used in messages. */
    public String source() {
        return source;
    }

    /**
     * The state dict without reading any tensor data: the 'state_dict' entry of a Lightning
     * checkpoint, else the root itself when it is a dict; only String keys with tensor values,
     * in file order.
     */
    public Map<String, TensorRef> stateDictRefs() throws CheckpointException {
        Map<?, ?> sd;
        if (root instanceof Map<?, ?> m && m.containsKey("state_dict")) {
            if (!(m.get("state_dict") instanceof Map<?, ?> s)) {
                throw fail("'state_dict' is " + Pickle.describe(m.get("state_dict")) + ", not a dict");
            }
            sd = s;
        } else if (root instanceof Map<?, ?> m) {
            sd = m;
        } else {
            throw fail("the checkpoint holds " + Pickle.describe(root) + ", not a state dict (save model.state_dict() instead of the model)");
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : sd.entrySet()) {
            if (e.getKey() instanceof String k && e.getValue() instanceof TensorRef t) out.put(k, t);
        }
        return out;
    }

    /** Reads every tensor of the state dict (see {@link #stateDictRefs()}), names as in the file. */
    public Map<String, Tensor> stateDict() throws CheckpointException {
        return load(stateDictRefs(), "");
    }

    /**
     * The state-dict tensors under a dotted prefix, with the prefix removed:
     * {@code tensors("encoder")} maps "encoder.conv_in.weight" to "conv_in.weight". Only these
     * tensors are read.
     */
    public Map<String, Tensor> tensors(String prefix) throws CheckpointException {
        String p = prefix.isEmpty() || prefix.endsWith(".") ? prefix : prefix + ".";
        Map<String, TensorRef> refs = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : stateDictRefs().entrySet()) {
            if (e.getKey().startsWith(p)) refs.put(e.getKey(), e.getValue());
        }
        return load(refs, p);
    }

    private Map<String, Tensor> load(Map<String, TensorRef> refs, String strip) throws CheckpointException {
        long bytes = 0;
        for (TensorRef r : refs.values()) {
            if (r.storage.type.elements != null) bytes += r.numel * r.storage.type.elements.target.bytes;
        }
        long max = Runtime.getRuntime().maxMemory();
        if (bytes > max) {
            throw fail("reading " + refs.size() + " tensors needs " + bytes + " bytes of heap but the JVM may use at most " + max + " (raise -Xmx)");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
            try {
                out.put(e.getKey().substring(strip.length()), e.getValue().read());
            } catch (Bad b) {
                throw fail("tensor '" + e.getKey() + "': " + b.getMessage());
            }
        }
        return out;
    }

    /** Unmaps the file (only for {@link #open}ed checkpoints); TensorRefs cannot be read afterwards. */
    @Override
    public void close() {
        zip.close();
    }

    private CheckpointException fail(String problem) {
        return new CheckpointException(source + ": " + problem);
    }

    /** A problem with one tensor, reported with its name by the caller. */
    private static final class Bad extends RuntimeException {
        Bad(String message) {
            super(message, null, false, false);
        }
    }

    // ---------------------------------------------------------------- archive layout

    private Zip.Entry findDataPkl() throws CheckpointException {
        List<Zip.Entry> found = new ArrayList<>();
        for (Zip.Entry e : zip.entries().values()) {
            String n = e.name();
            if (n.equals("data.pkl") || (n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length())) found.add(e);
        }
        if (found.isEmpty()) {
            throw fail("not a PyTorch checkpoint: the zip archive has no <name>/data.pkl entry (it holds " + zip.someNames(5) + ")");
        }
        if (found.size() > 1) {
            List<String> names = new ArrayList<>();
            for (Zip.Entry e : found) names.add(e.name());
            throw fail("ambiguous: the zip archive holds several data.pkl entries (" + String.join(", ", names.subList(0, Math.min(5, names.size()))) + ")");
        }
        return found.get(0);
    }

    private void checkByteOrder() throws CheckpointException {
        Zip.Entry e = zip.entry(prefix + "byteorder");
        if (e == null) return;
        if (e.size() > 64) throw fail("corrupt: the byteorder entry has " + e.size() + " bytes");
        String order = new String(zip.bytes(e), StandardCharsets.US_ASCII).trim();
        if (order.equals("big")) throw fail("big-endian checkpoints are not supported");
        if (!order.equals("little")) throw fail("corrupt: byteorder entry says '" + order + "' (expected 'little')");
    }

    /** A message for a file in the pre-1.6 (non-zip) torch.save format, else null. */
    private static String legacyFormat(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(512);
            while (head.hasRemaining() && ch.read(head) > 0) { }
            int n = head.position();
            boolean pickle = n >= 2 && (head.get(0) & 0xff) == 0x80 && head.get(1) >= 2 && head.get(1) <= 5;
            boolean tar = n >= 262 && new String(head.array(), 257, 5, StandardCharsets.US_ASCII).equals("ustar");
            if (pickle || tar) {
                return "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a recent PyTorch (torch.save(torch.load(f), f))";
            }
        } catch (IOException ignored) {
            // the zip error stands
        }
        return null;
    }

    // ---------------------------------------------------------------- storages and tensors

    /** torch storage classes and how their elements are read; {@code elements} is null when unsupported. */
    enum StorageType {
        FLOAT("FloatStorage", Elements.F32), HALF("HalfStorage", Elements.F16), BFLOAT16("BFloat16Storage", Elements.BF16),
        DOUBLE("DoubleStorage", Elements.F64), LONG("LongStorage", Elements.I64), INT("IntStorage", Elements.I32),
        SHORT("ShortStorage", Elements.I16), CHAR("CharStorage", Elements.I8), BYTE("ByteStorage", Elements.U8),
        BOOL("BoolStorage", Elements.BOOL), UNTYPED("UntypedStorage", Elements.U8), UNSUPPORTED(null, null);

        final String className;
        final Elements elements;

        StorageType(String className, Elements elements) {
            this.className = className;
            this.elements = elements;
        }

        static StorageType of(String name) {
            for (StorageType t : values()) if (name.equals(t.className)) return t;
            return UNSUPPORTED;
        }

        /** Bytes per element (unsupported types count 1, so only their entry's size bounds them). */
        int itemSize() {
            return elements == null ? 1 : elements.size;
        }
    }

    /** A storage named by a persistent id: its entry, element type and element count. */
    private record StorageRef(String key, Zip.Entry entry, StorageType type, String typeName, long numel) {}

    /**
     * A tensor of the checkpoint, described but not yet read: storage, element type, shape,
     * stride and storage offset (in elements), already checked to lie inside the storage.
     * {@link #load()} copies it into a new contiguous CPU tensor.
     */
    public final class TensorRef {
        private final StorageRef storage;
        private final long offset;
        private final int[] shape;
        private final long[] stride;
        private final long numel;
        private final boolean requiresGrad;

        private TensorRef(StorageRef storage, long offset, int[] shape, long[] stride, long numel, boolean requiresGrad) {
            this.storage = storage;
            this.offset = offset;
            this.shape = shape;
            this.stride = stride;
            this.numel = numel;
            this.requiresGrad = requiresGrad;
        }

        private TensorRef withRequiresGrad(boolean value) {
            return new TensorRef(storage, offset, shape, stride, numel, value);
        }

        public int[] shape() { return shape.clone(); }
        public long[] stride() { return stride.clone(); }
        public long storageOffset() { return offset; }
        public long numel() { return numel; }
        public boolean requiresGrad() { return requiresGrad; }
        /** The storage's key (its entry is {@code <prefix>/data/<key>}). */
        public String storageKey() { return storage.key; }
        /** The storage class, e.g. "torch.HalfStorage". */
        public String storageType() { return storage.typeName; }
        /** The dtype of the tensor {@link #load()} returns, or null when the storage type is unsupported. */
        public DType dtype() { return storage.type.elements == null ? null : storage.type.elements.target; }

        /** Reads the tensor (a new contiguous CPU tensor; requires_grad is not carried over). */
        public Tensor load() throws CheckpointException {
            try {
                return read();
            } catch (Bad b) {
                throw fail("tensor in storage '" + storage.key + "': " + b.getMessage());
            }
        }

        private Tensor read() throws CheckpointException {
            Elements el = storage.type.elements;
            if (el == null) throw new Bad("unsupported storage type " + storage.typeName);
            if (zip.isClosed()) throw new IllegalStateException(source + " is closed; read its tensors before closing it");
            zip.verify(storage.entry);
            MemorySegment data = zip.data(storage.entry);
            try {
                return el.read(data, 0, shape, stride, offset);
            } catch (IllegalArgumentException e) {
                throw new Bad(e.getMessage());
            } catch (OutOfMemoryError e) {
                throw new Bad("not enough heap for " + numel + " elements (raise -Xmx)");
            }
        }

        @Override
        public String toString() {
            return "TensorRef(" + Shape.str(shape) + ", " + storage.typeName + ", storage '" + storage.key + "')";
        }
    }

    /** Interprets torch's persistent ids and tensor-rebuilding functions; executes nothing. */
    private final class TorchResolver implements Pickle.Resolver {
        private final Map<String, StorageRef> storages = new HashMap<>();

        @Override
        public Object persistentLoad(Object pid) throws CheckpointException {
            if (!(pid instanceof List<?> t) || t.size() != 5 || !"storage".equals(t.get(0))) {
                throw new CheckpointException("unsupported persistent id " + Pickle.describe(pid) + " (expected ('storage', type, key, location, numel))");
            }
            if (!(t.get(1) instanceof Pickle.Opaque cls) || cls.isCalled()) {
                throw new CheckpointException("the storage type is " + Pickle.describe(t.get(1)) + ", not a torch storage class");
            }
            Object k = t.get(2);
            if (!(k instanceof String) && !(k instanceof Long)) throw new CheckpointException("the storage key is " + Pickle.describe(k) + ", not a str");
            String key = k.toString();
            if (!(t.get(4) instanceof Long numel) || numel < 0) {
                Object c = t.get(4);
                throw new CheckpointException("the element count of storage '" + key + "' is " + (c instanceof Long ? c : Pickle.describe(c)) + ", not a non-negative int");
            }
            StorageType type = cls.module().equals("torch") || cls.module().equals("torch.storage") || cls.module().equals("torch.cuda")
                    ? StorageType.of(cls.name()) : StorageType.UNSUPPORTED;
            String cacheKey = key + "\u0000" + cls.qualifiedName();
            StorageRef known = storages.get(cacheKey);
            if (known != null) {
                if (known.numel != numel) throw new CheckpointException("storage '" + key + "' is declared with " + known.numel + " and " + numel + " elements");
                return known;
            }
            String entryName = prefix + "data/" + key;
            Zip.Entry entry = zip.entry(entryName);
            if (entry == null) throw new CheckpointException("storage '" + key + "' has no entry " + entryName + " in the archive");
            if (numel > entry.size() / type.itemSize()) {
                throw new CheckpointException("storage '" + key + "' declares " + numel + " elements of " + type.itemSize()
                        + " bytes but its entry " + entryName + " holds " + entry.size() + " bytes");
            }
            StorageRef ref = new StorageRef(key, entry, type, cls.qualifiedName(), numel);
            storages.put(cacheKey, ref);
            return ref;
        }

        @Override
        public Object call(String module, String name, List<Object> args) throws CheckpointException {
            if (module.equals("torch._utils")) {
                switch (name) {
                    case "_rebuild_tensor_v2" -> {
                        if (args.size() != 6 && args.size() != 7) throw arity(name, "6 or 7", args);
                        return tensor(args, bool(args.get(4), "requires_grad"));
                    }
                    case "_rebuild_tensor" -> {
                        if (args.size() != 4) throw arity(name, "4", args);
                        return tensor(args, false);
                    }
                    case "_rebuild_parameter", "_rebuild_parameter_with_state" -> {
                        int want = name.equals("_rebuild_parameter") ? 3 : 4;
                        if (args.size() != want) throw arity(name, Integer.toString(want), args);
                        if (!(args.get(0) instanceof TensorRef t)) {
                            throw new CheckpointException(name + ": the data is " + Pickle.describe(args.get(0)) + ", not a tensor");
                        }
                        return t.withRequiresGrad(bool(args.get(1), "requires_grad"));
                    }
                    default -> { return null; }
                }
            }
            if (module.equals("torch._tensor") && name.equals("_rebuild_from_type_v2")) {
                if (args.size() != 4) throw arity(name, "4", args);
                if (args.get(0) instanceof Pickle.Opaque f && !f.isCalled() && Pickle.isTuple(args.get(2))
                        && !(f.module().equals(module) && f.name().equals(name))) {
                    @SuppressWarnings("unchecked")
                    List<Object> inner = (List<Object>) args.get(2);
                    return call(f.module(), f.name(), inner);
                }
            }
            return null;
        }

        private CheckpointException arity(String name, String want, List<Object> args) {
            return new CheckpointException(name + " takes " + want + " arguments, got " + args.size());
        }

        private boolean bool(Object o, String what) throws CheckpointException {
            if (o instanceof Boolean b) return b;
            throw new CheckpointException(what + " is " + Pickle.describe(o) + ", not a bool");
        }

        private TensorRef tensor(List<Object> args, boolean requiresGrad) throws CheckpointException {
            if (!(args.get(0) instanceof StorageRef s)) {
                throw new CheckpointException("a tensor's storage is " + Pickle.describe(args.get(0)) + ", not a storage (persistent id)");
            }
            if (!(args.get(1) instanceof Long offset) || offset < 0) {
                throw new CheckpointException("the storage offset is " + Pickle.describe(args.get(1)) + ", not a non-negative int");
            }
            long[] size = longs(args.get(2), "size");
            long[] stride = longs(args.get(3), "stride");
            if (size.length != stride.length) {
                throw new CheckpointException("size " + Arrays.toString(size) + " and stride " + Arrays.toString(stride) + " differ in rank");
            }
            for (int i = 0; i < size.length; i++) {
                if (size[i] < 0) throw new CheckpointException("negative size in " + Arrays.toString(size));
                if (stride[i] < 0) throw new CheckpointException("negative stride in " + Arrays.toString(stride) + " (not supported)");
            }
            long numel = Elements.numel(size);
            if (numel < 0) throw new CheckpointException("size " + Arrays.toString(size) + " has more than 2^31-1 elements");
            long last = Elements.lastElement(size, stride, offset);
            if (last >= s.numel) {
                throw new CheckpointException("a tensor of size " + Arrays.toString(size) + ", stride " + Arrays.toString(stride)
                        + " and offset " + offset + " reaches element " + (last == Long.MAX_VALUE ? "2^63" : Long.toString(last))
                        + " but its storage '" + s.key + "' holds " + s.numel);
            }
            // A broadcast view (stride 0) may address fewer elements than it has; materialising it
            // would allocate more than the file holds, which a hostile file could use as a memory
            // bomb. State dicts do not contain such views, so they are refused.
            if (numel > s.entry.size() / s.type.itemSize()) {
                throw new CheckpointException("a tensor of size " + Arrays.toString(size) + " has " + numel + " elements of "
                        + s.type.itemSize() + " bytes but its storage entry '" + s.key + "' holds only " + s.entry.size()
                        + " bytes (broadcast views larger than their storage are not loaded)");
            }
            int[] shape = new int[size.length];
            for (int i = 0; i < size.length; i++) shape[i] = (int) size[i];
            return new TensorRef(s, offset, shape, stride, numel, requiresGrad);
        }

        private long[] longs(Object o, String what) throws CheckpointException {
            if (!(o instanceof List<?> l)) throw new CheckpointException("the " + what + " is " + Pickle.describe(o) + ", not a tuple of ints");
            if (l.size() > 64) throw new CheckpointException("the " + what + " has " + l.size() + " dimensions (at most 64)");
            long[] out = new long[l.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(l.get(i) instanceof Long v)) throw new CheckpointException("the " + what + " holds " + Pickle.describe(l.get(i)) + ", not an int");
                out[i] = v;
            }
            return out;
        }
    }
}
