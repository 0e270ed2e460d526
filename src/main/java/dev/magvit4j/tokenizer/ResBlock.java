package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.nn.Conv2d;
import dev.magvit4j.nn.GroupNorm;
import dev.magvit4j.nn.Layer;
import dev.magvit4j.nn.Module;
import dev.magvit4j.tensor.Tensor;

/**
 * norm1 → swish → conv1 (3x3) → norm2 → swish → conv2 (3x3), plus the input, through a 1x1
 * {@code nin_shortcut} when the width changes (SPEC.md section 1). No biases, no dropout.
 */
public final class ResBlock extends Module implements Layer {

    public final GroupNorm norm1, norm2;
    public final Conv2d conv1, conv2;
    /** Null when in == out. */
    public final Conv2d ninShortcut;

    public ResBlock(int in, int out) {
        this(in, out, Generator.global());
    }

    public ResBlock(int in, int out, Generator gen) {
        norm1 = child("norm1", new GroupNorm(32, in, 1e-6f, true));
        norm2 = child("norm2", new GroupNorm(32, out, 1e-6f, true));
        conv1 = child("conv1", new Conv2d(in, out, 3, 1, 1, false, gen));
        conv2 = child("conv2", new Conv2d(out, out, 3, 1, 1, false, gen));
        ninShortcut = in != out ? child("nin_shortcut", new Conv2d(in, out, 1, 1, 0, false, gen)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor h = conv1.forward(norm1.forwardSilu(x));
        h = conv2.forward(norm2.forwardSilu(h));
        return h.add(ninShortcut == null ? x : ninShortcut.forward(x));
    }
}
