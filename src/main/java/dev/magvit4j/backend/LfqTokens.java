package dev.magvit4j.backend;

import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;

/**
 * The tokens of a lookup-free quantizer's input z [B, C, *], checked once for every backend
 * (CpuLfq, CudaLfq): each of the batch·hw positions is a token of C bits, channel k of token
 * (b, p) at b·C·hw + k·hw + p in a contiguous z.
 */
public record LfqTokens(int batch, int channels, int hw) {

    /** The tokens of z, or a one-line error: z must be [B, C, ...] with 1 to 62 channels (the index is an int64). */
    public static LfqTokens of(Tensor z) {
        int[] s = z.shapeRef();
        if (s.length < 2) throw new IllegalArgumentException("LFQ needs z of shape [B, C, ...], got " + Shape.str(s));
        int hw = 1;
        for (int d = 2; d < s.length; d++) hw *= s[d];
        if (s[1] < 1 || s[1] > 62) throw new IllegalArgumentException("LFQ supports 1 to 62 bits per token, got " + s[1] + " channels");
        return new LfqTokens(s[0], s[1], hw);
    }

    /** Checks that the sub-token bit groups (6 + 12 for Open-MAGVIT2) cover the channels. */
    public void checkGroups(int[] groupBits) {
        int total = 0;
        for (int g : groupBits) total += g;
        if (total != channels) {
            throw new IllegalArgumentException("LFQ bit groups " + Arrays.toString(groupBits) + " add up to " + total + " but z has " + channels + " channels");
        }
    }

    public int count() {
        return batch * hw;
    }

    /** The element of channel k of token number token (row-major over batch and positions) in a contiguous z. */
    public int at(int token, int k) {
        return (token / hw) * channels * hw + k * hw + token % hw;
    }
}
