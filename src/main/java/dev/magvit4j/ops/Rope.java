package dev.magvit4j.ops;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backend;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.Tensor;

/** Rotary position embedding on interleaved pairs, with the 2-D table of the AR model. */
public final class Rope {

    private Rope() {}

    /** Rotates x [..., T, D] by the angle tables cos, sin [T, D/2]. */
    public static Tensor apply(Tensor x, Tensor cos, Tensor sin) {
        Backend be = Backends.of(x, cos, sin);
        Tensor out = be.rope(x, cos, sin, false);
        return Autograd.record(out, "rope", g -> new Tensor[] {be.rope(g, cos, sin, true), null, null}, x, cos, sin);
    }

    /**
     * The 2-D table of SPEC.md section 2 as {cos, sin} [1 + g·g, headDim/2] for a g x g grid:
     * row 0 (the class token) is all zeros; row p ≥ 1 is grid cell ((p-1)/g, (p-1)%g); the first
     * headDim/4 pairs turn with the row index, the next headDim/4 with the column index, at
     * frequencies base^(-2i/(headDim/2)).
     */
    public static Tensor[] table2d(int grid, int headDim, float base) {
        if (headDim % 4 != 0) throw new IllegalArgumentException("2-D rope needs a head dim divisible by 4, got " + headDim);
        int half = headDim / 2, quarter = headDim / 4, positions = 1 + grid * grid;
        float[] cos = new float[positions * half], sin = new float[positions * half];
        for (int p = 1; p < positions; p++) {
            int row = (p - 1) / grid, col = (p - 1) % grid;
            for (int i = 0; i < quarter; i++) {
                // The reference computes the frequencies and angles in float32.
                float freq = (float) (1.0 / Math.pow(base, (2.0 * i) / half));
                float aRow = row * freq, aCol = col * freq;
                cos[p * half + i] = (float) Math.cos(aRow);
                sin[p * half + i] = (float) Math.sin(aRow);
                cos[p * half + quarter + i] = (float) Math.cos(aCol);
                sin[p * half + quarter + i] = (float) Math.sin(aCol);
            }
        }
        return new Tensor[] {Tensor.of(cos, positions, half), Tensor.of(sin, positions, half)};
    }
}
