package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.nn.Conv2d;
import dev.magvit4j.nn.Layer;
import dev.magvit4j.nn.Module;
import dev.magvit4j.ops.DepthToSpace;
import dev.magvit4j.tensor.Tensor;

/** 3x3 conv to 4x the channels, then depth-to-space by 2 in DCR order (SPEC.md section 1). */
public final class Upsampler extends Module implements Layer {

    public final Conv2d conv1;

    public Upsampler(int channels) {
        this(channels, Generator.global());
    }

    public Upsampler(int channels, Generator gen) {
        conv1 = child("conv1", new Conv2d(channels, 4 * channels, 3, 1, 1, true, gen));
    }

    @Override
    public Tensor forward(Tensor x) {
        return DepthToSpace.apply(conv1.forward(x), 2);
    }
}
