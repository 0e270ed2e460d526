package dev.magvit4j.io;

import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A file of named tensors, whatever its format: a PyTorch / Lightning checkpoint (zip + pickle,
 * {@code .ckpt} / {@code .pt}) or a safetensors file (magvit4j's own format). Names and shapes
 * are known up front; tensors are read one by one, so a loader materialises only what it uses
 * (a tokenizer checkpoint also holds the EMA copy, the discriminator and perhaps VGG weights).
 */
public final class StateDictFile implements AutoCloseable {

    private final Path path;
    private final Checkpoint checkpoint;              // zip checkpoints
    private final Map<String, Checkpoint.TensorRef> refs;
    private final Map<String, Tensor> tensors;        // safetensors
    private final Map<String, String> metadata;

    private StateDictFile(Path path, Checkpoint checkpoint, Map<String, Checkpoint.TensorRef> refs, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.path = path;
        this.checkpoint = checkpoint;
        this.refs = refs;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens a checkpoint or safetensors file, telling them apart by their first bytes. */
    public static StateDictFile open(Path path) throws IOException {
        if (!Files.isRegularFile(path)) throw new IOException(path + ": no such file");
        byte[] head;
        try (InputStream in = Files.newInputStream(path)) {
            head = in.readNBytes(4);
        }
        if (head.length == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            Checkpoint c = Checkpoint.open(path);
            try {
                return new StateDictFile(path, c, c.stateDictRefs(), null, Map.of());
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }
        SafeTensors.Contents s = SafeTensors.load(path);
        return new StateDictFile(path, null, null, s.tensors(), s.metadata());
    }

    public Path path() {
        return path;
    }

    /** Every tensor's shape, by name, in file order. */
    public Map<String, int[]> shapes() {
        Map<String, int[]> out = new LinkedHashMap<>();
        if (refs != null) refs.forEach((k, r) -> out.put(k, r.shape()));
        else tensors.forEach((k, t) -> out.put(k, t.shape()));
        return out;
    }

    public boolean contains(String name) {
        return refs != null ? refs.containsKey(name) : tensors.containsKey(name);
    }

    /** One tensor by name; an IOException names the file and the tensor when it is absent or unreadable. */
    public Tensor load(String name) throws IOException {
        if (refs != null) {
            Checkpoint.TensorRef r = refs.get(name);
            if (r == null) throw new IOException(path + ": no tensor named " + name);
            return r.load();
        }
        Tensor t = tensors.get(name);
        if (t == null) throw new IOException(path + ": no tensor named " + name);
        return t;
    }

    /** Several tensors by name, in the given order. */
    public Map<String, Tensor> load(Collection<String> names) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String n : names) out.put(n, load(n));
        return out;
    }

    /** The safetensors string metadata (empty for checkpoints). */
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        if (checkpoint != null) checkpoint.close();
    }
}
