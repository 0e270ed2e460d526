package dev.magvit4j.autograd;

import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutogradTest {

    private static float[] v(float... x) {
        return x;
    }

    @Test
    void gradientsAccumulateOnLeaves() {
        Tensor x = Tensor.of(v(1, 2, 3)).requiresGrad(true);
        x.mul(x).sum().backward();
        assertArrayEquals(v(2, 4, 6), x.grad().toFloatArray());
        x.mul(3f).sum().backward();
        assertArrayEquals(v(5, 7, 9), x.grad().toFloatArray());
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void sharedSubexpressionSumsItsPaths() {
        Tensor x = Tensor.of(v(2)).requiresGrad(true);
        Tensor y = x.mul(x);               // y = x^2
        Tensor z = y.add(y.mul(x));        // z = x^2 + x^3
        z.sum().backward();
        assertArrayEquals(v(2 * 2 + 3 * 4), x.grad().toFloatArray()); // 2x + 3x^2
    }

    @Test
    void explicitUpstreamGradient() {
        Tensor x = Tensor.of(v(1, 2)).requiresGrad(true);
        x.mul(2f).backward(Tensor.of(v(10, 100)));
        assertArrayEquals(v(20, 200), x.grad().toFloatArray());
        Tensor y = x.mul(2f);
        assertThrows(IllegalArgumentException.class, () -> y.backward(Tensor.of(v(1, 2, 3))));
        assertThrows(IllegalArgumentException.class, y::backward); // not a scalar
    }

    @Test
    void broadcastGradientIsReducedToInputShape() {
        Tensor a = Tensor.ones(2, 3).requiresGrad(true);
        Tensor b = Tensor.of(v(1, 2, 3)).requiresGrad(true);
        a.mul(b).sum().backward();
        assertArrayEquals(new int[] {3}, b.grad().shape());
        assertArrayEquals(v(2, 2, 2), b.grad().toFloatArray());
        assertArrayEquals(v(1, 2, 3, 1, 2, 3), a.grad().toFloatArray());
    }

    @Test
    void noGradScopeRecordsNothing() {
        Tensor x = Tensor.of(v(1)).requiresGrad(true);
        Tensor y;
        try (var ignored = Autograd.noGrad()) {
            y = x.mul(2f);
            try (var nested = Autograd.noGrad()) {
                assertFalse(Autograd.isEnabled());
            }
            assertFalse(Autograd.isEnabled());
        }
        assertTrue(Autograd.isEnabled());
        assertFalse(y.requiresGrad());
        assertTrue(x.mul(2f).requiresGrad());
    }

    @Test
    void detachCutsTheGraph() {
        Tensor x = Tensor.of(v(3)).requiresGrad(true);
        Tensor y = x.mul(x).detach().mul(x);   // d/dx = x^2 (the detached factor is a constant)
        y.sum().backward();
        assertArrayEquals(v(9), x.grad().toFloatArray());
    }

    @Test
    void graphIsReleasedAfterBackward() {
        Tensor x = Tensor.of(v(1)).requiresGrad(true);
        Tensor y = x.exp().sum();
        y.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("retainGraph"), e.getMessage());
        Tensor z = x.exp().sum();
        Autograd.backward(z, null, true);
        Autograd.backward(z, null, false);   // retained once, so a second pass works
    }

    /**
     * Once backward has passed an activation, the engine holds it no longer, so a collection later
     * in backward reclaims it instead of copying it (keeping them all to the end made the GC
     * pauses of the AR training benchmark about four times as long).
     */
    @Test
    void activationsAreUnreachableOnceBackwardHasPassedThem() {
        Tensor x = Tensor.of(v(1, 2)).requiresGrad(true);
        List<WeakReference<Tensor>> downstream = new ArrayList<>();
        boolean[] reclaimed = {false};
        Tensor probe = Autograd.record(Tensor.of(v(1, 2)), "probe", g -> {
            for (int i = 0; i < 20 && !reclaimed[0]; i++) {
                System.gc();
                reclaimed[0] = downstream.get(0).get() == null;
            }
            return new Tensor[] {g};
        }, x);
        lossThrough(probe, downstream).backward();
        assertTrue(reclaimed[0], "the activation after the probe was still reachable when backward reached the probe");
        assertArrayEquals(v(3, 3), x.grad().toFloatArray());
    }

    /** (3·a).sum(), remembering 3·a only weakly. */
    private static Tensor lossThrough(Tensor a, List<WeakReference<Tensor>> weak) {
        Tensor b = a.mul(3f);
        weak.add(new WeakReference<>(b));
        return b.sum();
    }

    @Test
    void retainGradKeepsIntermediateGradients() {
        Tensor x = Tensor.of(v(1, 2)).requiresGrad(true);
        Tensor h = x.mul(3f).retainGrad();
        h.square().sum().backward();
        assertArrayEquals(v(6, 12), h.grad().toFloatArray());
        assertArrayEquals(v(18, 36), x.grad().toFloatArray());
    }

    @Test
    void firstGradientIsNotShared() {
        // a + b sends the same upstream tensor to both leaves: scaling one grad must not touch the other.
        Tensor a = Tensor.of(v(1)).requiresGrad(true), b = Tensor.of(v(1)).requiresGrad(true);
        a.add(b).sum().backward();
        a.grad().backend().axpby(0f, a.grad(), 5f, a.grad());
        assertArrayEquals(v(1), b.grad().toFloatArray());
    }

    @Test
    void deepGraphDoesNotOverflowTheStack() {
        Tensor x = Tensor.of(v(1)).requiresGrad(true);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) y = y.add(0f);
        y.sum().backward();
        assertArrayEquals(v(1), x.grad().toFloatArray());
    }

    @Test
    void backwardWithoutGradIsAnError() {
        Tensor x = Tensor.of(v(1));
        assertThrows(IllegalStateException.class, () -> x.mul(2f).sum().backward());
        assertThrows(IllegalArgumentException.class, () -> Tensor.ofLongs(new long[] {1}).requiresGrad(true));
    }
}
