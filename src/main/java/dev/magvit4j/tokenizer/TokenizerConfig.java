package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer's architecture, the reference's {@code ddconfig} (SPEC.md section 1): base width
 * {@code ch}, width multipliers per level {@code chMult}, residual blocks per level,
 * {@code zChannels} latent channels (= code bits, 18), image channels in and out.
 */
public record TokenizerConfig(int ch, int[] chMult, int numResBlocks, int zChannels, int inChannels, int outCh) {

    /** The released 128x128 model (also used at 512x512): 4 levels, downsampling 8. */
    public static final TokenizerConfig OPEN_MAGVIT2_128 = new TokenizerConfig(128, new int[] {1, 2, 2, 4}, 4, 18, 3, 3);
    /** The released 256x256 model: 5 levels, downsampling 16. */
    public static final TokenizerConfig OPEN_MAGVIT2_256 = new TokenizerConfig(128, new int[] {1, 1, 2, 2, 4}, 4, 18, 3, 3);

    public TokenizerConfig {
        chMult = chMult.clone();
        if (ch <= 0 || chMult.length == 0 || numResBlocks <= 0 || zChannels <= 0 || inChannels <= 0 || outCh <= 0) {
            throw new IllegalArgumentException("invalid tokenizer config: " + describe(ch, chMult, numResBlocks, zChannels, inChannels, outCh));
        }
        for (int m : chMult) {
            if (m <= 0 || (ch * m) % 32 != 0) {
                throw new IllegalArgumentException("tokenizer widths must be positive multiples of 32 (GroupNorm has 32 groups), got ch " + ch + " x " + m);
            }
        }
    }

    /** A preset by name: "128" or "256". */
    public static TokenizerConfig preset(String name) {
        return switch (name) {
            case "128" -> OPEN_MAGVIT2_128;
            case "256" -> OPEN_MAGVIT2_256;
            default -> throw new IllegalArgumentException("unknown tokenizer preset '" + name + "': use 128 or 256");
        };
    }

    public int levels() {
        return chMult.length;
    }

    /** Image pixels per latent pixel along each side: 2^(levels - 1). */
    public int downsampling() {
        return 1 << (chMult.length - 1);
    }

    @Override
    public int[] chMult() {
        return chMult.clone();
    }

    /** From the reference's ddconfig JSON object (ch, ch_mult, num_res_blocks, z_channels, in_channels, out_ch). */
    public static TokenizerConfig fromJson(Map<String, Object> dd) {
        List<?> mult = (List<?>) dd.get("ch_mult");
        int[] m = new int[mult.size()];
        for (int i = 0; i < m.length; i++) m[i] = ((Number) mult.get(i)).intValue();
        return new TokenizerConfig(num(dd, "ch"), m, num(dd, "num_res_blocks"), num(dd, "z_channels"),
                dd.containsKey("in_channels") ? num(dd, "in_channels") : 3, dd.containsKey("out_ch") ? num(dd, "out_ch") : 3);
    }

    private static int num(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof Number n)) throw new IllegalArgumentException("tokenizer config lacks the number '" + key + "'");
        return n.intValue();
    }

    /**
     * The config a state dict was trained with, read off its names and shapes:
     * ch and in_channels from encoder.conv_in.weight [ch, in, 3, 3], the levels and their widths
     * from encoder.down.i.block.0.conv1.weight, the blocks per level from encoder.down.0.block.*,
     * z_channels from encoder.conv_out.weight, out_ch from decoder.conv_out.weight.
     */
    public static TokenizerConfig infer(Map<String, Tensor> state) {
        Map<String, int[]> shapes = new java.util.LinkedHashMap<>();
        state.forEach((k, t) -> shapes.put(k, t.shapeRef()));
        return inferFromShapes(shapes);
    }

    /** {@link #infer} from names and shapes alone (nothing needs to be read). */
    public static TokenizerConfig inferFromShapes(Map<String, int[]> state) {
        int[] convIn = require(state, "encoder.conv_in.weight");
        int ch = convIn[0], in = convIn[1];
        int levels = 0;
        while (state.containsKey("encoder.down." + levels + ".block.0.conv1.weight")) levels++;
        if (levels == 0) throw new IllegalArgumentException("state dict has no encoder.down.0.block.0.conv1.weight: not an Open-MAGVIT2 tokenizer");
        int[] mult = new int[levels];
        for (int i = 0; i < levels; i++) {
            int width = state.get("encoder.down." + i + ".block.0.conv1.weight")[0];
            if (width % ch != 0) throw new IllegalArgumentException("encoder level " + i + " has width " + width + ", not a multiple of ch " + ch);
            mult[i] = width / ch;
        }
        int blocks = 0;
        while (state.containsKey("encoder.down.0.block." + blocks + ".conv1.weight")) blocks++;
        int z = require(state, "encoder.conv_out.weight")[0];
        int out = require(state, "decoder.conv_out.weight")[0];
        return new TokenizerConfig(ch, mult, blocks, z, in, out);
    }

    private static int[] require(Map<String, int[]> state, String key) {
        int[] t = state.get(key);
        if (t == null) throw new IllegalArgumentException("state dict lacks " + key + ": not an Open-MAGVIT2 tokenizer");
        return t;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenizerConfig c && ch == c.ch && Arrays.equals(chMult, c.chMult) && numResBlocks == c.numResBlocks
                && zChannels == c.zChannels && inChannels == c.inChannels && outCh == c.outCh;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(chMult) * 31 + ch * 17 + numResBlocks * 7 + zChannels;
    }

    @Override
    public String toString() {
        return describe(ch, chMult, numResBlocks, zChannels, inChannels, outCh);
    }

    private static String describe(int ch, int[] chMult, int numResBlocks, int zChannels, int inChannels, int outCh) {
        return "ch=" + ch + " ch_mult=" + Arrays.toString(chMult) + " num_res_blocks=" + numResBlocks + " z_channels=" + zChannels
                + " in_channels=" + inChannels + " out_ch=" + outCh;
    }
}
