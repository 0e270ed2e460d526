package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.nn.Conv2d;
import dev.magvit4j.nn.GroupNorm;
import dev.magvit4j.nn.Module;
import dev.magvit4j.nn.ModuleList;
import dev.magvit4j.tensor.Tensor;

/**
 * Quantized latent q [B, z, h, w] → image: conv_in, {@code mid_block}, then for each level i from
 * the top down: {@code adaptive.i} (GroupNorm modulated by q's statistics), the ResBlocks of
 * {@code up.i}, and (for i > 0) {@code up.i.upsample}; then norm_out → swish → conv_out
 * (SPEC.md section 1). Level i's blocks go from the width above to ch·ch_mult[i].
 */
public final class Decoder extends Module {

    /** One level: its residual blocks and, except on level 0, the upsampler. */
    public static final class Level extends Module {
        public final ModuleList<ResBlock> block = child("block", new ModuleList<>());
        public final Upsampler upsample;

        Level(int in, int out, int blocks, boolean upsample, Generator gen) {
            for (int j = 0; j < blocks; j++) block.add(new ResBlock(j == 0 ? in : out, out, gen));
            this.upsample = upsample ? child("upsample", new Upsampler(out, gen)) : null;
        }
    }

    public final Conv2d convIn;
    public final ModuleList<ResBlock> midBlock;
    public final ModuleList<Level> up;
    public final ModuleList<AdaptiveGroupNorm> adaptive;
    public final GroupNorm normOut;
    public final Conv2d convOut;

    public Decoder(TokenizerConfig c) {
        this(c, Generator.global());
    }

    public Decoder(TokenizerConfig c, Generator gen) {
        int[] mult = c.chMult();
        int levels = mult.length, top = c.ch() * mult[levels - 1];
        convIn = child("conv_in", new Conv2d(c.zChannels(), top, 3, 1, 1, true, gen));
        midBlock = child("mid_block", new ModuleList<>());
        for (int j = 0; j < c.numResBlocks(); j++) midBlock.add(new ResBlock(top, top, gen));
        up = child("up", new ModuleList<>());
        adaptive = child("adaptive", new ModuleList<>());
        // Indexed by level (0 = full resolution); level i starts from level i+1's width (the top width at the top).
        for (int i = 0; i < levels; i++) {
            int in = i == levels - 1 ? top : c.ch() * mult[i + 1], out = c.ch() * mult[i];
            up.add(new Level(in, out, c.numResBlocks(), i > 0, gen));
            adaptive.add(new AdaptiveGroupNorm(c.zChannels(), in, gen));
        }
        normOut = child("norm_out", new GroupNorm(32, c.ch() * mult[0], 1e-6f, true));
        convOut = child("conv_out", new Conv2d(c.ch() * mult[0], c.outCh(), 3, 1, 1, true, gen));
    }

    public Tensor forward(Tensor q) {
        Tensor h = convIn.forward(q);
        for (ResBlock b : midBlock) h = b.forward(h);
        for (int i = up.size() - 1; i >= 0; i--) {
            h = adaptive.get(i).forward(h, q);
            Level level = up.get(i);
            for (ResBlock b : level.block) h = b.forward(h);
            if (level.upsample != null) h = level.upsample.forward(h);
        }
        return convOut.forward(normOut.forwardSilu(h));
    }
}
