package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.tensor.Tensor;

/** Depth-to-space in the DCR order of the tokenizer's upsampler (SPEC.md section 1). */
public final class DepthToSpace {

    private DepthToSpace() {}

    /** [B, C·r², H, W] → [B, C, H·r, W·r] with out[n, c, y·r+i, x·r+j] = in[n, (i·r+j)·C + c, y, x]. */
    public static Tensor apply(Tensor x, int block) {
        Backend be = x.backend();
        Tensor out = be.depthToSpace(x, block, false);
        return Autograd.record(out, "depth_to_space", g -> new Tensor[] {be.depthToSpace(g, block, true)}, x);
    }
}
