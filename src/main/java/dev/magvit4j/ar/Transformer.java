package dev.magvit4j.ar;

import dev.magvit4j.io.SafeTensors;
import dev.magvit4j.io.StateDictFile;
import dev.magvit4j.nn.Dropout;
import dev.magvit4j.nn.Embedding;
import dev.magvit4j.nn.Init;
import dev.magvit4j.nn.Linear;
import dev.magvit4j.nn.Module;
import dev.magvit4j.nn.ModuleList;
import dev.magvit4j.nn.RMSNorm;
import dev.magvit4j.ops.Rope;
import dev.magvit4j.optim.ParamGroup;
import dev.magvit4j.ops.Softmax;
import dev.magvit4j.ops.Views;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Open-MAGVIT2 AR transformer (the reference's {@code GPT}, SPEC.md section 2): every image
 * token is a pair of sub-tokens (pre: the low {@code preBits} bits, post: the rest), embedded
 * by two tables and summed. A spatial stack of Llama blocks runs over [class, token 0, ...]
 * and its output at position t predicts token t; a small factorized (intra) stack then runs
 * over the two-long sequence [h_t, pre_emb(pre_t)] so the pre head (on its first element)
 * predicts pre_t and the post head (on its second) predicts post_t given pre_t.
 *
 * <pre>
 *   class ──► class_emb ─┐
 *   (pre, post)_{t-1} ──► pre_emb + post_emb ─► [c, e_0 .. e_{T-2}] ─► spatial_blocks ─► h_t
 *   [h_t, pre_emb(pre_t)] ─► factorized_blocks ─► norm ─► head.0 (pre logits), head.1 (post logits)
 * </pre>
 *
 * Parameter names are those of the reference below its {@code transformer.} prefix.
 */
public final class Transformer extends Module {

    public final ArConfig config;
    public final Embedding preEmb, postEmb;
    public final LabelEmbedder classEmb;
    final Dropout tokenDrop;
    public final ModuleList<Block> spatialBlocks, factorizedBlocks;
    public final RMSNorm norm;
    public final ModuleList<Linear> head;
    private final Generator gen;
    /** Rotation tables for [class, grid cells in raster order] (SPEC.md section 2: row 0 is zero). */
    private Tensor cos, sin;  // RoPE tables, not state: moved by to(device), not saved

    /** A model with the reference's initialisation: N(0, 0.02) for linear and embedding weights, zero heads. */
    public Transformer(ArConfig config, Generator gen) {
        this.config = config;
        this.gen = gen;
        preEmb = child("pre_emb", new Embedding(1 << config.preBits(), config.dim(), gen));
        postEmb = child("post_emb", new Embedding(1 << config.postBits(), config.dim(), gen));
        classEmb = child("class_emb", new LabelEmbedder(config.classNum(), config.dim(), gen));
        tokenDrop = child("token_drop", new Dropout(config.tokenDrop(), gen));
        spatialBlocks = child("spatial_blocks", new ModuleList<>());
        for (int i = 0; i < config.spatialLayers(); i++) spatialBlocks.add(new Block(config, gen));
        factorizedBlocks = child("factorized_blocks", new ModuleList<>());
        for (int i = 0; i < config.factorizedLayers(); i++) factorizedBlocks.add(new Block(config, gen));
        norm = child("norm", new RMSNorm(config.dim(), config.normEps()));
        head = child("head", new ModuleList<>());
        head.add(new Linear(config.dim(), 1 << config.preBits(), false, gen));
        head.add(new Linear(config.dim(), 1 << config.postBits(), false, gen));
        Tensor[] table = Rope.table2d(config.grid(), config.headDim(), config.ropeBase());
        cos = table[0];
        sin = table[1];
        initialise();
    }

    private void initialise() {
        namedParameters().forEach((name, p) -> {
            if (name.startsWith("head.")) Init.constant(p, 0);
            else if (p.dim() == 2) Init.normal(p, 0, 0.02, gen);
        });
    }

    /**
     * Names and shapes of the parameters of a model of this config, in state-dict order, without
     * allocating it: the blocks of a stack are alike, so one of each is built and its names are
     * repeated for every index (the XL model's 1.5 G parameters stay unallocated).
     */
    public static Map<String, int[]> parameterShapes(ArConfig config) {
        Map<String, Tensor> one = new Transformer(config.withLayers(1, 1), new Generator(0)).namedParameters();
        Map<String, int[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : one.entrySet()) {
            String k = e.getKey();
            String stack = k.startsWith("spatial_blocks.") ? "spatial_blocks." : k.startsWith("factorized_blocks.") ? "factorized_blocks." : null;
            if (stack == null) {
                out.put(k, e.getValue().shape());
            } else if (!out.containsKey(k)) {             // first entry of the stack: emit every block
                int layers = stack.startsWith("spatial") ? config.spatialLayers() : config.factorizedLayers();
                for (int i = 0; i < layers; i++) {
                    for (Map.Entry<String, Tensor> f : one.entrySet()) {
                        if (f.getKey().startsWith(stack + "0.")) out.put(stack + i + f.getKey().substring(stack.length() + 1), f.getValue().shape());
                    }
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ checkpoints

    /** Where the transformer sits in an AR checkpoint (the tokenizer sits under first_stage_model.). */
    public static final String PREFIX = "transformer.";

    /**
     * The transformer of an AR checkpoint (.ckpt / .pt from the reference, or .safetensors from
     * {@link #save}), in eval mode. The architecture is read off the weights' names and shapes;
     * the head count and block size are not visible there: {@code heads} (0: what the file's
     * metadata says, else dim/64, true of the released B, L and XL) and {@code blockSize} (0: the
     * metadata's, else 256). The reference's sampling caches ({@code *.kv_cache.*}) are skipped.
     */
    public static Transformer load(Path file, int heads, int blockSize) throws IOException {
        try (StateDictFile f = StateDictFile.open(file)) {
            Map<String, int[]> shapes = new LinkedHashMap<>();
            f.shapes().forEach((k, v) -> {
                if (k.startsWith(PREFIX) && !k.contains(".kv_cache.")) shapes.put(k.substring(PREFIX.length()), v);
            });
            if (shapes.isEmpty()) throw new IOException(file + ": no AR transformer weights (transformer.*): is this an Open-MAGVIT2 AR checkpoint?");
            Map<String, String> meta = f.metadata();
            ArConfig config;
            try {
                int dim = shapes.containsKey("pre_emb.weight") ? shapes.get("pre_emb.weight")[1] : 0;
                int h = heads > 0 ? heads : meta.containsKey("heads") ? Integer.parseInt(meta.get("heads")) : Math.max(1, dim / 64);
                int bs = blockSize > 0 ? blockSize : meta.containsKey("block_size") ? Integer.parseInt(meta.get("block_size")) : 256;
                config = ArConfig.inferFromShapes(shapes, h, bs);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
            Transformer model = new Transformer(config, new Generator(0));
            Map<String, Tensor> weights = new LinkedHashMap<>();
            for (String name : shapes.keySet()) weights.put(name, f.load(PREFIX + name));
            try {
                model.loadStateDict(weights, true);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
            model.eval();
            return model;
        }
    }

    /** Writes the weights as transformer.* in safetensors, with the head count and block size in the metadata; atomic. */
    public void save(Path file) throws IOException {
        Map<String, Tensor> named = new LinkedHashMap<>();
        stateDict().forEach((k, v) -> named.put(PREFIX + k, v));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "magvit4j-ar");
        meta.put("heads", Integer.toString(config.nHead()));
        meta.put("block_size", Integer.toString(config.blockSize()));
        meta.put("config", config.toString());
        SafeTensors.write(file, named, meta);
    }

    // ------------------------------------------------------------------ training forward

    /** Logits of both heads: pre [B, T, 2^preBits], post [B, T, 2^postBits]. */
    public record Logits(Tensor pre, Tensor post) {}

    /**
     * Teacher-forced logits for whole sequences: sub-tokens pre, post [B, T] (T = block size or
     * fewer) and class labels [B] or [B, 1], on any device (they move to the model's). In training
     * mode, labels are dropped to "no class" with probability classDrop and the dropouts are on.
     */
    public Logits forward(Tensor pre, Tensor post, Tensor labels) {
        checkTokens(pre, post);
        int b = pre.size(0), t = pre.size(1), d = config.dim();
        if (labels.numel() != b) throw new IllegalArgumentException("need one class label per sequence: " + b + " sequences, labels " + Shape.str(labels.shapeRef()));
        labels = labels.reshape(b);
        if (isTraining() && config.classDrop() > 0) labels = dropLabels(labels);
        Device device = device();
        pre = pre.to(device);
        post = post.to(device);
        labels = labels.to(device);

        Tensor ePre = preEmb.forward(pre);
        Tensor tokens = ePre.add(postEmb.forward(post));
        // Position 0 holds the class; token t-1 sits at position t, so the output at t predicts token t.
        Tensor h = Views.concat(List.of(classEmb.forward(labels).unsqueeze(1), tokens.slice(1, 0, t - 1)), 1);
        h = tokenDrop.forward(h);
        Tensor c = cos.slice(0, 0, t), s = sin.slice(0, 0, t);
        for (Block block : spatialBlocks) h = block.forward(h, c, s, null);

        // Intra pass: per position the pair [h_t, pre_emb(pre_t)] with rotation rows 0 (zero) and 1 (identity).
        Tensor pair = Views.stack(List.of(h, ePre), 2).reshape(b * t, 2, d);
        Tensor c2 = cos.slice(0, 0, 2), s2 = sin.slice(0, 0, 2);
        for (Block block : factorizedBlocks) pair = block.forward(pair, c2, s2, null);
        pair = norm.forward(pair).reshape(b, t, 2, d);
        return new Logits(head.get(0).forward(pair.select(2, 0)), head.get(1).forward(pair.select(2, 1)));
    }

    /** The training loss: cross_entropy(pre) + cross_entropy(post), each a mean over tokens. */
    public Tensor loss(Logits logits, Tensor pre, Tensor post) {
        Tensor[] terms = lossTerms(logits, pre, post);
        return terms[0].add(terms[1]);
    }

    /** The two terms of {@link #loss}: {cross_entropy(pre), cross_entropy(post)}. */
    public Tensor[] lossTerms(Logits logits, Tensor pre, Tensor post) {
        int n = pre.numel();
        Device device = logits.pre().device();
        return new Tensor[] {Softmax.crossEntropy(logits.pre().reshape(n, -1), pre.to(device).reshape(n)),
                Softmax.crossEntropy(logits.post().reshape(n, -1), post.to(device).reshape(n))};
    }

    /** The reference's AdamW groups: weight decay on parameters of two or more dims only (not the norms' weights). */
    public List<ParamGroup> paramGroups(float lr, float weightDecay) {
        List<Tensor> decay = new java.util.ArrayList<>(), plain = new java.util.ArrayList<>();
        for (Tensor p : parameters()) (p.dim() >= 2 ? decay : plain).add(p);
        return List.of(new ParamGroup(decay, lr, weightDecay), new ParamGroup(plain, lr, 0f));
    }

    private Tensor dropLabels(Tensor labels) {
        long[] l = labels.toLongArray();
        for (int i = 0; i < l.length; i++) if (gen.nextFloat() < config.classDrop()) l[i] = config.classNum();
        return Tensor.ofLongs(l, l.length);
    }

    private void checkTokens(Tensor pre, Tensor post) {
        if (pre.dim() != 2 || !java.util.Arrays.equals(pre.shapeRef(), post.shapeRef())) {
            throw new IllegalArgumentException("sub-tokens must be two [B, T] tensors of one shape, got " + Shape.str(pre.shapeRef()) + " and " + Shape.str(post.shapeRef()));
        }
        if (pre.dtype() == DType.FLOAT32 || post.dtype() == DType.FLOAT32) throw new IllegalArgumentException("sub-tokens must be integer tensors");
        if (pre.size(1) < 1 || pre.size(1) > config.blockSize()) {
            throw new IllegalArgumentException("sequence of " + pre.size(1) + " tokens; the model takes 1.." + config.blockSize());
        }
        checkRange(pre, 1 << config.preBits(), "pre");
        checkRange(post, 1 << config.postBits(), "post");
    }

    static void checkRange(Tensor tokens, int count, String what) {
        for (long v : tokens.toLongArray()) {
            if (v < 0 || v >= count) throw new IndexOutOfBoundsException(what + " sub-token " + v + " is out of range 0.." + (count - 1));
        }
    }

    // ------------------------------------------------------------------ cached decoding

    @Override
    public Transformer to(Device device) {
        super.to(device);
        cos = cos.to(device);
        sin = sin.to(device);
        return this;
    }

    /** One key/value cache per spatial block, for rows sequences. */
    public KVCache[] spatialCaches(int rows) {
        return caches(spatialBlocks.size(), rows, 1 + config.blockSize());
    }

    /** One key/value cache per factorized block (two positions: context, then pre). */
    public KVCache[] factorizedCaches(int rows) {
        return caches(factorizedBlocks.size(), rows, 2);
    }

    private KVCache[] caches(int layers, int rows, int capacity) {
        KVCache[] out = new KVCache[layers];
        for (int i = 0; i < layers; i++) out[i] = new KVCache(preEmb.weight, rows, config.nHead(), capacity, config.headDim());
        return out;
    }

    /**
     * Runs the spatial stack on x [R, T, dim], the inputs at sequence positions
     * caches.length() .. +T (position 0 is the class), appending to the caches; returns [R, T, dim].
     */
    public Tensor spatialStep(Tensor x, KVCache[] caches) {
        int p = caches[0].length(), t = x.size(1);
        Tensor c = cos.slice(0, p, p + t), s = sin.slice(0, p, p + t);
        for (int i = 0; i < spatialBlocks.size(); i++) x = spatialBlocks.get(i).forward(x, c, s, caches[i]);
        return x;
    }

    /**
     * One step of the intra stack on x [R, 1, dim] (first the spatial context, then the pre
     * sub-token's embedding), then the final norm and head {@code which} (0: pre, 1: post): logits [R, 2^bits].
     */
    public Tensor subTokenStep(Tensor x, KVCache[] caches, int which) {
        int p = caches[0].length();
        Tensor c = cos.slice(0, p, p + 1), s = sin.slice(0, p, p + 1);
        for (int i = 0; i < factorizedBlocks.size(); i++) x = factorizedBlocks.get(i).forward(x, c, s, caches[i]);
        return head.get(which).forward(norm.forward(x.select(1, 0)));
    }

    /** The spatial input of a generated token: pre_emb(pre) + post_emb(post), [R, 1, dim] for pre, post [R]. */
    public Tensor tokenEmbedding(Tensor pre, Tensor post) {
        return preEmb.forward(pre).add(postEmb.forward(post)).unsqueeze(1);
    }
}
