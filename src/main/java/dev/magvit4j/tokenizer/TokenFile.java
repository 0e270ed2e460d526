package dev.magvit4j.tokenizer;

import dev.magvit4j.io.Json;
import dev.magvit4j.io.SafeTensors;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The token file of {@code ./magvit4j encode}: a safetensors file with three int64 tensors of
 * shape [N, h, w] (N images, an h x w latent grid, raster order):
 *
 * <ul>
 * <li>{@code indices}: the 18-bit code of each token, Σ 2^k [z_k > 0] (SPEC.md section 1);
 * <li>{@code pre}: its low 6 bits, {@code post}: its high 12 bits (the AR model's sub-tokens;
 *     indices = pre + post · 64);
 * </ul>
 *
 * and string metadata: {@code format} = "magvit4j-tokens", {@code version} = "1", {@code bits},
 * {@code factorized_bits} (JSON list), {@code names} (JSON list of the N source names),
 * {@code image_size} ("HxW"), {@code tokenizer} (the config), {@code checkpoint} and
 * {@code weights} ("ema" or "live"). In Python: {@code safetensors.numpy.load_file(path)}, or
 * read the 8-byte header length, the JSON header and the raw little-endian data.
 */
public record TokenFile(Tensor indices, Tensor pre, Tensor post, List<String> names, Map<String, String> info) {

    public static final String FORMAT = "magvit4j-tokens";

    public TokenFile {
        for (Tensor t : new Tensor[] {indices, pre, post}) {
            if (t.dim() != 3 || t.dtype() != DType.INT64 || !Arrays.equals(t.shapeRef(), indices.shapeRef())) {
                throw new IllegalArgumentException("token tensors must all be int64 [N, h, w] of one shape, got " + t.dtype() + " " + Shape.str(t.shapeRef()));
            }
        }
        if (names.size() != indices.size(0)) {
            throw new IllegalArgumentException(names.size() + " names for " + indices.size(0) + " token grids");
        }
        names = List.copyOf(names);
        info = Map.copyOf(info);
    }

    public int count() {
        return indices.size(0);
    }

    /** Writes the file atomically (temp file, fsync, rename). */
    public void write(Path file, int bits, int[] factorizedBits) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("indices", indices);
        tensors.put("pre", pre);
        tensors.put("post", post);
        Map<String, String> meta = new LinkedHashMap<>(info);
        meta.put("format", FORMAT);
        meta.put("version", "1");
        meta.put("bits", Integer.toString(bits));
        meta.put("factorized_bits", Arrays.toString(factorizedBits));
        meta.put("names", jsonList(names));
        SafeTensors.write(file, tensors, meta);
    }

    public static TokenFile read(Path file) throws IOException {
        SafeTensors.Contents c = SafeTensors.load(file);
        Map<String, String> meta = new LinkedHashMap<>(c.metadata());
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IOException(file + ": not a magvit4j token file (metadata format is " + meta.get("format") + "; make one with ./magvit4j encode)");
        }
        Tensor indices = c.tensors().get("indices"), pre = c.tensors().get("pre"), post = c.tensors().get("post");
        if (indices == null || pre == null || post == null) throw new IOException(file + ": token file lacks indices, pre or post");
        List<String> names = new ArrayList<>();
        try {
            for (Object o : (List<?>) Json.parse(meta.getOrDefault("names", "[]"))) names.add(String.valueOf(o));
            for (String k : List.of("format", "version", "bits", "factorized_bits", "names")) meta.remove(k);
            return new TokenFile(indices, pre, post, names, meta);
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException(file + ": malformed token file: " + e.getMessage(), e);
        }
    }

    private static String jsonList(List<String> items) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append('"');
            for (char ch : items.get(i).toCharArray()) {
                if (ch == '"' || ch == '\\') sb.append('\\').append(ch);
                else if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
                else sb.append(ch);
            }
            sb.append('"');
        }
        return sb.append(']').toString();
    }
}
