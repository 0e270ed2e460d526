package dev.magvit4j.tokenizer;

import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class QuantizerTest {

    @Test
    void codesAndIndicesRoundTrip() {
        LookupFreeQuantizer q = LookupFreeQuantizer.released(18);
        long[] idx = {0, 1, 63, 64, (1 << 18) - 1, 123456};
        Tensor indices = Tensor.ofLongs(idx, 1, 2, 3);
        Tensor codes = q.codes(indices);
        assertArrayEquals(new int[] {1, 18, 2, 3}, codes.shape());
        assertArrayEquals(idx, q.indices(codes).toLongArray());
        // pre = low 6 bits, post = high 12 bits, and back.
        long[] pre = new long[idx.length], post = new long[idx.length];
        for (int i = 0; i < idx.length; i++) {
            pre[i] = idx[i] & 63;
            post[i] = idx[i] >> 6;
        }
        assertArrayEquals(idx, q.combine(Tensor.ofLongs(pre, 1, 2, 3), Tensor.ofLongs(post, 1, 2, 3)).toLongArray());
        assertThrows(IndexOutOfBoundsException.class, () -> q.codes(Tensor.ofLongs(new long[] {1 << 18}, 1, 1, 1)));
        assertThrows(IndexOutOfBoundsException.class, () -> q.combine(Tensor.ofLongs(new long[] {64}, 1, 1, 1), Tensor.ofLongs(new long[] {0}, 1, 1, 1)));
        assertThrows(IllegalArgumentException.class, () -> q.indices(Tensor.zeros(1, 17, 2, 2)));
    }
}
