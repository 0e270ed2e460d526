package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.nn.Conv2d;
import dev.magvit4j.nn.GroupNorm;
import dev.magvit4j.nn.Module;
import dev.magvit4j.nn.ModuleList;
import dev.magvit4j.tensor.Tensor;

/**
 * Image [B, 3, H, W] → latent [B, z, H/f, W/f]: conv_in, then per level {@code down.i}
 * num_res_blocks ResBlocks and (except on the last level) a stride-2 3x3 {@code downsample}, then
 * {@code mid_block}, norm_out → swish → 1x1 conv_out (SPEC.md section 1).
 */
public final class Encoder extends Module {

    /** One level: its residual blocks and, except on the last level, the downsampling conv. */
    public static final class Level extends Module {
        public final ModuleList<ResBlock> block = child("block", new ModuleList<>());
        public final Conv2d downsample;

        Level(int in, int out, int blocks, boolean downsample, Generator gen) {
            for (int j = 0; j < blocks; j++) block.add(new ResBlock(j == 0 ? in : out, out, gen));
            this.downsample = downsample ? child("downsample", new Conv2d(out, out, 3, 2, 1, true, gen)) : null;
        }
    }

    public final Conv2d convIn;
    public final ModuleList<Level> down;
    public final ModuleList<ResBlock> midBlock;
    public final GroupNorm normOut;
    public final Conv2d convOut;

    public Encoder(TokenizerConfig c) {
        this(c, Generator.global());
    }

    public Encoder(TokenizerConfig c, Generator gen) {
        int[] mult = c.chMult();
        convIn = child("conv_in", new Conv2d(c.inChannels(), c.ch(), 3, 1, 1, false, gen));
        down = child("down", new ModuleList<>());
        int width = c.ch();
        for (int i = 0; i < mult.length; i++) {
            down.add(new Level(width, c.ch() * mult[i], c.numResBlocks(), i < mult.length - 1, gen));
            width = c.ch() * mult[i];
        }
        midBlock = child("mid_block", new ModuleList<>());
        for (int j = 0; j < c.numResBlocks(); j++) midBlock.add(new ResBlock(width, width, gen));
        normOut = child("norm_out", new GroupNorm(32, width, 1e-6f, true));
        convOut = child("conv_out", new Conv2d(width, c.zChannels(), 1, 1, 0, true, gen));
    }

    public Tensor forward(Tensor x) {
        Tensor h = convIn.forward(x);
        for (Level level : down) {
            for (ResBlock b : level.block) h = b.forward(h);
            if (level.downsample != null) h = level.downsample.forward(h);
        }
        for (ResBlock b : midBlock) h = b.forward(h);
        return convOut.forward(normOut.forwardSilu(h));
    }
}
