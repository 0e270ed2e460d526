package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.ConvGeometry;
import dev.magvit4j.ops.ConvolutionTest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ConvolutionTest's Winograd cases really take that path (forward and weight gradient share the forward's geometry; input gradient); small maps do not. */
class WinogradTest {

    @Test
    void casesTakeTheWinogradPath() {
        for (int[] c : ConvolutionTest.WINOGRAD_CASES) {
            ConvGeometry g = ConvGeometry.of(new int[] {c[0], c[1], c[2], c[3]}, new int[] {c[4], c[1], 3, 3}, 1, 1, c[5], c[5]);
            assertTrue(Winograd.applies(g), "forward " + java.util.Arrays.toString(c));
            ConvGeometry t = g.winogradInputGradient();
            assertTrue(Winograd.applies(t), "input gradient " + java.util.Arrays.toString(c));
        }
        assertFalse(Winograd.applies(ConvGeometry.of(new int[] {1, 512, 16, 16}, new int[] {512, 512, 3, 3}, 1, 1, 1, 1)), "16 tiles");
        assertTrue(Winograd.applies(ConvGeometry.of(new int[] {8, 512, 16, 16}, new int[] {512, 512, 3, 3}, 1, 1, 1, 1)), "8 x 16 tiles");
    }
}
