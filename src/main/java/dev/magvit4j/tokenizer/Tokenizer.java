package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.io.SafeTensors;
import dev.magvit4j.io.StateDictFile;
import dev.magvit4j.nn.Module;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The MAGVIT-v2 image tokenizer of Open-MAGVIT2: encoder → lookup-free quantizer → decoder, with
 * the reference's module names ({@code encoder.*}, {@code decoder.*}), so a state dict loads by
 * name without renaming.
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizer.load(Path.of("imagenet_256_L.ckpt"), Tokenizer.Weights.EMA_IF_PRESENT);
 * Tokenizer.Tokens t = tok.encode(images);                            // images [B, 3, 256, 256] in [-1, 1]
 * t.indices();                                                        // [B, 16, 16] 18-bit codes
 * Tensor back = tok.decode(t.indices());                              // [B, 3, 256, 256]
 * Tensor same = tok.decode(t.pre(), t.post());                        // from the 6 + 12-bit sub-tokens
 * }</pre>
 */
public final class Tokenizer extends Module {

    public final TokenizerConfig config;
    /** Null when built without it (see {@link Parts}). */
    public final Encoder encoder;
    /** Null when built without it (see {@link Parts}). */
    public final Decoder decoder;
    public final LookupFreeQuantizer quantize;

    /** Which halves to build and load: encoding needs only the encoder, decoding only the decoder. */
    public enum Parts {
        ENCODER(true, false), DECODER(false, true), BOTH(true, true);

        final boolean encoder, decoder;

        Parts(boolean encoder, boolean decoder) {
            this.encoder = encoder;
            this.decoder = decoder;
        }
    }

    public Tokenizer(TokenizerConfig config) {
        this(config, Parts.BOTH);
    }

    public Tokenizer(TokenizerConfig config, Parts parts) {
        this(config, parts, Generator.global());
    }

    /** A tokenizer with PyTorch's default initialisation drawn from {@code gen} (reproducible per seed). */
    public Tokenizer(TokenizerConfig config, Parts parts, Generator gen) {
        this.config = config;
        this.encoder = parts.encoder ? child("encoder", new Encoder(config, gen)) : null;
        this.decoder = parts.decoder ? child("decoder", new Decoder(config, gen)) : null;
        this.quantize = child("quantize", LookupFreeQuantizer.released(config.zChannels()));
    }

    // ------------------------------------------------------------------ weights

    /** Which weights of a checkpoint to use. */
    public enum Weights {
        /** The EMA weights ({@code model_ema.*}) when the checkpoint has them, else the live ones. */
        EMA_IF_PRESENT,
        /** The live (last training step) weights. */
        LIVE
    }

    /**
     * A tokenizer built from a state dict's names and shapes and loaded from it. {@code prefix} is
     * where the tokenizer sits in the dict ("" for a tokenizer checkpoint, "first_stage_model."
     * in an AR checkpoint). EMA weights are stored as {@code model_ema.<name without dots>}.
     */
    public static Tokenizer fromStateDict(Map<String, Tensor> state, String prefix, Weights weights) {
        Map<String, Tensor> own = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            if (e.getKey().startsWith(prefix)) own.put(e.getKey().substring(prefix.length()), e.getValue());
        }
        Tokenizer t = new Tokenizer(TokenizerConfig.infer(own));
        t.load(own, weights);
        t.eval();
        return t;
    }

    /**
     * A tokenizer from a checkpoint file (.ckpt / .pt, or .safetensors as written by {@link #save}):
     * the config is read off the names and shapes, and only the chosen weights are read. The
     * tokenizer may sit at the top level or under {@code first_stage_model.} (an AR checkpoint).
     */
    public static Tokenizer load(Path file, Weights weights) throws IOException {
        return load(file, weights, Parts.BOTH);
    }

    /** {@link #load(Path, Weights)} building and reading only the given halves. */
    public static Tokenizer load(Path file, Weights weights, Parts parts) throws IOException {
        try (StateDictFile f = StateDictFile.open(file)) {
            Map<String, int[]> shapes = f.shapes();
            String prefix = shapes.containsKey("encoder.conv_in.weight") ? ""
                    : shapes.containsKey("first_stage_model.encoder.conv_in.weight") ? "first_stage_model." : null;
            if (prefix == null) {
                throw new IOException(file + ": no tokenizer weights (neither encoder.* nor first_stage_model.encoder.*): is this an Open-MAGVIT2 checkpoint?");
            }
            Map<String, int[]> own = new LinkedHashMap<>();
            shapes.forEach((k, v) -> {
                if (k.startsWith(prefix)) own.put(k.substring(prefix.length()), v);
            });
            Tokenizer t;
            try {
                t = new Tokenizer(TokenizerConfig.inferFromShapes(own), parts);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
            boolean ema = weights == Weights.EMA_IF_PRESENT && hasEma(own.keySet());
            Map<String, Tensor> chosen = new LinkedHashMap<>();
            List<String> missing = new ArrayList<>();
            for (String name : t.stateDict().keySet()) {
                String key = prefix + (ema ? emaKey(name) : name);
                if (f.contains(key)) chosen.put(name, f.load(key));
                else missing.add(key);
            }
            if (!missing.isEmpty()) {
                throw new IOException(file + ": lacks " + missing.size() + " tokenizer weight(s)" + (ema ? " in its EMA copy (use the live weights?)" : "")
                        + ": " + String.join(", ", missing.subList(0, Math.min(6, missing.size()))) + (missing.size() > 6 ? ", ..." : ""));
            }
            try {
                t.loadStateDict(chosen, true);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
            t.eval();
            return t;
        }
    }

    /** Writes the weights (encoder.*, decoder.*) as safetensors with the config in the metadata; atomic. */
    public void save(Path file) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "magvit4j-tokenizer");
        meta.put("config", config.toString());
        SafeTensors.write(file, stateDict(), meta);
    }

    /** Loads weights by name (encoder.* and decoder.*; other entries such as loss.* are ignored). */
    public void load(Map<String, Tensor> state, Weights weights) {
        boolean ema = weights == Weights.EMA_IF_PRESENT && hasEma(state.keySet());
        Map<String, Tensor> chosen = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String name : stateDict().keySet()) {
            String key = ema ? emaKey(name) : name;
            Tensor v = state.get(key);
            if (v == null) missing.add(key);
            else chosen.put(name, v);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("checkpoint lacks " + missing.size() + " tokenizer weight(s)" + (ema ? " in its EMA copy" : "")
                    + ": " + String.join(", ", missing.subList(0, Math.min(6, missing.size()))) + (missing.size() > 6 ? ", ..." : ""));
        }
        loadStateDict(chosen, true);
    }

    /** The reference's LitEma stores parameter p.q.r as model_ema.pqr. */
    public static String emaKey(String name) {
        return "model_ema." + name.replace(".", "");
    }

    static boolean hasEma(java.util.Set<String> names) {
        for (String k : names) if (k.startsWith("model_ema.") && !k.equals("model_ema.decay") && !k.equals("model_ema.num_updates")) return true;
        return false;
    }

    // ------------------------------------------------------------------ inference

    /** The tokens of a batch: 18-bit indices [B, h, w], the factorised sub-indices, the ±1 codes and the encoder output. */
    public record Tokens(Tensor indices, Tensor pre, Tensor post, Tensor codes, Tensor latent) {}

    /** Encodes images [B, C, H, W] in [-1, 1] (H and W multiples of the downsampling factor). */
    public Tokens encode(Tensor images) {
        if (encoder == null) throw new IllegalStateException("this tokenizer was built without its encoder (Parts.DECODER); load it with Parts.ENCODER or BOTH to encode");
        checkImages(images);
        try (var ignored = Autograd.noGrad()) {
            Tensor z = encoder.forward(images.to(device()));
            LookupFreeQuantizer.Output q = quantize.forward(z, false);
            Tensor[] f = q.factorIndices();
            return new Tokens(q.indices(), f[0], f.length > 1 ? f[1] : null, q.quantized(), z);
        }
    }

    /** Images [B, C, H, W] (not clamped) from 18-bit indices [B, h, w]. */
    public Tensor decode(Tensor indices) {
        if (indices.dim() != 3 || (indices.dtype() != DType.INT64 && indices.dtype() != DType.INT32)) {
            throw new IllegalArgumentException("decode needs integer indices [B, h, w], got " + indices.dtype() + " " + Shape.str(indices.shapeRef()));
        }
        try (var ignored = Autograd.noGrad()) {
            return decodeCodes(quantize.codes(indices.to(device())));
        }
    }

    /** Images from the factorised sub-indices (pre: the low bits, post: the rest), each [B, h, w]. */
    public Tensor decode(Tensor pre, Tensor post) {
        return decode(quantize.combine(pre, post));
    }

    /** Images from ±1 codes [B, z, h, w]. */
    public Tensor decodeCodes(Tensor codes) {
        if (decoder == null) throw new IllegalStateException("this tokenizer was built without its decoder (Parts.ENCODER); load it with Parts.DECODER or BOTH to decode");
        if (codes.dim() != 4 || codes.size(1) != config.zChannels()) {
            throw new IllegalArgumentException("decoder input must be [B, " + config.zChannels() + ", h, w], got " + Shape.str(codes.shapeRef()));
        }
        if (codes.size(2) * codes.size(3) < 2) {
            throw new IllegalArgumentException("a latent of " + codes.size(2) + "x" + codes.size(3) + " has no unbiased variance for the decoder's adaptive group norm; use images of at least 2 latent pixels");
        }
        try (var ignored = Autograd.noGrad()) {
            return decoder.forward(codes.to(device()));
        }
    }

    @Override
    public Tokenizer to(Device device) {
        super.to(device);
        return this;
    }

    /** decode(encode(images)). */
    public Tensor reconstruct(Tensor images) {
        return decodeCodes(encode(images).codes());
    }

    private void checkImages(Tensor images) {
        int f = config.downsampling();
        if (images.dim() != 4 || images.size(1) != config.inChannels()) {
            throw new IllegalArgumentException("images must be [B, " + config.inChannels() + ", H, W], got " + Shape.str(images.shapeRef()));
        }
        int h = images.size(2), w = images.size(3);
        if (h % f != 0 || w % f != 0) {
            throw new IllegalArgumentException("image size " + h + "x" + w + " is not a multiple of the tokenizer's downsampling factor " + f);
        }
        if ((h / f) * (w / f) < 2) {
            throw new IllegalArgumentException("image size " + h + "x" + w + " gives a " + (h / f) + "x" + (w / f)
                    + " latent, which the decoder's adaptive group norm cannot normalise (no unbiased variance); use at least " + f + "x" + (2 * f));
        }
    }
}
