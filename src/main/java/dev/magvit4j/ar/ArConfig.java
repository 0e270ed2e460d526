package dev.magvit4j.ar;

import java.util.Map;

/**
 * The AR transformer's architecture and training-time regularisation (SPEC.md section 2): width
 * {@code dim}, {@code nHead} attention heads, {@code spatialLayers} blocks over the image
 * positions and {@code factorizedLayers} blocks over the sub-tokens of one position,
 * {@code blockSize} image tokens (a square grid), {@code classNum} classes (plus the "no class"
 * row), sub-token widths {@code preBits} + {@code postBits}.
 *
 * <p>Dropout: {@code tokenDrop} on the input embeddings, {@code residDrop} on each attention
 * output, {@code ffnDrop} on each feed-forward output, and {@code classDrop}, the probability of
 * replacing a training label by "no class" (what makes classifier-free guidance possible).
 */
public record ArConfig(int dim, int nHead, int spatialLayers, int factorizedLayers, int blockSize, int classNum,
                       int preBits, int postBits, float normEps, float ropeBase, int multipleOf,
                       float tokenDrop, float residDrop, float ffnDrop, float classDrop) {

    /** The released 343.6M-parameter model. */
    public static final ArConfig B = released(1024, 16, 24, 2);
    /** The released 804.4M-parameter model. */
    public static final ArConfig L = released(1280, 20, 36, 3);
    /** The released 1486.7M-parameter model. */
    public static final ArConfig XL = released(1536, 24, 48, 4);

    /** The released recipe: 16x16 tokens, 1000 classes, 6 + 12 bits, dropout 0.1 everywhere. */
    private static ArConfig released(int dim, int heads, int spatial, int factorized) {
        return new ArConfig(dim, heads, spatial, factorized, 256, 1000, 6, 12, 1e-5f, 10000f, 256, 0.1f, 0.1f, 0.1f, 0.1f);
    }

    public ArConfig {
        if (dim <= 0 || nHead <= 0 || dim % nHead != 0) {
            throw new IllegalArgumentException("AR width " + dim + " must be a positive multiple of the head count " + nHead);
        }
        if ((dim / nHead) % 4 != 0) {
            throw new IllegalArgumentException("the 2-D rotary embedding needs a head width divisible by 4, got " + dim + "/" + nHead + " = " + (dim / nHead));
        }
        int g = (int) Math.round(Math.sqrt(blockSize));
        if (blockSize <= 0 || g * g != blockSize) throw new IllegalArgumentException("block size " + blockSize + " is not a square token grid");
        if (spatialLayers <= 0 || factorizedLayers <= 0 || classNum <= 0 || multipleOf <= 0) {
            throw new IllegalArgumentException("invalid AR config: " + spatialLayers + " spatial / " + factorizedLayers + " factorized layers, "
                    + classNum + " classes, multiple of " + multipleOf);
        }
        if (preBits <= 0 || postBits <= 0 || preBits + postBits > 30) {
            throw new IllegalArgumentException("sub-token widths must be positive and fit 30 bits together, got " + preBits + " + " + postBits);
        }
        for (float p : new float[] {tokenDrop, residDrop, ffnDrop, classDrop}) {
            if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probabilities must be in [0, 1), got " + p);
        }
    }

    /** A preset by name: B, L or XL. */
    public static ArConfig preset(String name) {
        return switch (name.toUpperCase(java.util.Locale.ROOT)) {
            case "B" -> B;
            case "L" -> L;
            case "XL" -> XL;
            default -> throw new IllegalArgumentException("unknown AR preset '" + name + "': use B, L or XL");
        };
    }

    public int headDim() {
        return dim / nHead;
    }

    /** Tokens per side of the image grid. */
    public int grid() {
        return (int) Math.round(Math.sqrt(blockSize));
    }

    /** SwiGLU width: int(2·4·dim/3) rounded up to a multiple of multipleOf (B: 2816). */
    public int ffnHidden() {
        int h = (int) (2 * (4 * dim) / 3);
        return (h + multipleOf - 1) / multipleOf * multipleOf;
    }

    public ArConfig withHeads(int heads) {
        return new ArConfig(dim, heads, spatialLayers, factorizedLayers, blockSize, classNum, preBits, postBits, normEps, ropeBase,
                multipleOf, tokenDrop, residDrop, ffnDrop, classDrop);
    }

    public ArConfig withLayers(int spatial, int factorized) {
        return new ArConfig(dim, nHead, spatial, factorized, blockSize, classNum, preBits, postBits, normEps, ropeBase,
                multipleOf, tokenDrop, residDrop, ffnDrop, classDrop);
    }

    /** The same architecture with every dropout off (and no label dropout). */
    public ArConfig withoutDropout() {
        return withDropout(0f, 0f, 0f, 0f);
    }

    public ArConfig withDropout(float token, float resid, float ffn, float cls) {
        return new ArConfig(dim, nHead, spatialLayers, factorizedLayers, blockSize, classNum, preBits, postBits, normEps, ropeBase,
                multipleOf, token, resid, ffn, cls);
    }

    /**
     * From the reference's GPT keyword arguments (a case.json config or a manifest): dim, n_head,
     * spatial_n_layer, factorized_n_layer, block_size, class_num, factorized_bits, and when given
     * token_drop, resid_dropout_p, ffn_dropout_p, norm_eps, rope_base, multiple_of; the rest take
     * the reference's defaults (ffn dropout 0.1, label dropout 0.1).
     */
    public static ArConfig fromJson(Map<String, Object> c) {
        Object bits = c.get("factorized_bits");
        if (!(bits instanceof java.util.List<?> b) || b.size() != 2) {
            throw new IllegalArgumentException("AR config needs factorized_bits as two numbers (e.g. [6, 12])");
        }
        return new ArConfig(num(c, "dim", null), num(c, "n_head", null), num(c, "spatial_n_layer", null), num(c, "factorized_n_layer", null),
                num(c, "block_size", null), num(c, "class_num", 1000), ((Number) b.get(0)).intValue(), ((Number) b.get(1)).intValue(),
                real(c, "norm_eps", 1e-5f), real(c, "rope_base", 10000f), num(c, "multiple_of", 256),
                real(c, "token_drop", 0.1f), real(c, "resid_dropout_p", 0f), real(c, "ffn_dropout_p", 0.1f), 0.1f);
    }

    private static int num(Map<String, Object> m, String key, Integer fallback) {
        Object v = m.get(key);
        if (v instanceof Number n) return n.intValue();
        if (fallback == null) throw new IllegalArgumentException("AR config lacks the number '" + key + "'");
        return fallback;
    }

    private static float real(Map<String, Object> m, String key, float fallback) {
        return m.get(key) instanceof Number n ? n.floatValue() : fallback;
    }

    /**
     * The architecture of a state dict (names relative to the transformer: pre_emb.weight, ...)
     * read off its shapes: dim and the sub-token widths from the embeddings, the class count from
     * the class table, the layer counts from the block indices, and ffn rounding from w1. The head
     * count is not visible in the weights: {@code heads} gives it (the released models use dim/64).
     * The block size is not either: 256 (16x16) unless the caller knows otherwise.
     */
    public static ArConfig inferFromShapes(Map<String, int[]> shapes, int heads, int blockSize) {
        int[] pre = require(shapes, "pre_emb.weight"), post = require(shapes, "post_emb.weight");
        int[] cls = require(shapes, "class_emb.embedding_table.weight");
        int dim = pre[1];
        int spatial = count(shapes, "spatial_blocks."), factorized = count(shapes, "factorized_blocks.");
        if (spatial == 0 || factorized == 0) throw new IllegalArgumentException("no spatial_blocks.* or factorized_blocks.* weights: not an Open-MAGVIT2 AR transformer");
        int hidden = require(shapes, "spatial_blocks.0.feed_forward.w1.weight")[0];
        int base = (int) (2 * (4 * dim) / 3);
        // The smallest power-of-two rounding that explains the hidden width (256 for the released models).
        int multipleOf = 256;
        while (multipleOf > 1 && (base + multipleOf - 1) / multipleOf * multipleOf != hidden) multipleOf /= 2;
        if ((base + multipleOf - 1) / multipleOf * multipleOf != hidden) {
            throw new IllegalArgumentException("feed-forward width " + hidden + " is not the SwiGLU rounding of int(8·" + dim + "/3)");
        }
        return new ArConfig(dim, heads, spatial, factorized, blockSize, cls[0] - 1, log2(pre[0], "pre_emb"), log2(post[0], "post_emb"),
                1e-5f, 10000f, multipleOf, 0.1f, 0.1f, 0.1f, 0.1f);
    }

    private static int[] require(Map<String, int[]> shapes, String key) {
        int[] s = shapes.get(key);
        if (s == null || s.length != 2) throw new IllegalArgumentException("AR weights lack a 2-D '" + key + "'");
        return s;
    }

    private static int count(Map<String, int[]> shapes, String prefix) {
        int n = 0;
        while (shapes.containsKey(prefix + n + ".attention.wqkv.weight")) n++;
        return n;
    }

    private static int log2(int n, String what) {
        if (n <= 0 || Integer.bitCount(n) != 1) throw new IllegalArgumentException(what + " has " + n + " rows, not a power of two");
        return Integer.numberOfTrailingZeros(n);
    }
}
