package dev.magvit4j.backend.cpu;

import dev.magvit4j.ops.Attention;
import dev.magvit4j.ops.Convolution;
import dev.magvit4j.ops.Lfq;
import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The same computation gives the same bits whatever the thread count (each output has one fixed order of operations). */
class DeterminismTest {

    /** Forward and backward of a mix of kernels; all outputs and input gradients, flattened. */
    private static List<float[]> run() {
        Generator g = new Generator(11);
        Tensor x = Tensor.randn(g, 2, 32, 24, 24).requiresGrad(true); // 72 output tiles: the Winograd path
        Tensor w = Tensor.randn(g, 32, 32, 3, 3).mul(0.05f).requiresGrad(true);
        Tensor a = Tensor.randn(g, 300, 130).requiresGrad(true), b = Tensor.randn(g, 130, 70).requiresGrad(true);
        Tensor rw = Tensor.randn(g, 70).requiresGrad(true);
        Tensor q = Tensor.randn(g, 2, 3, 70, 16).requiresGrad(true);
        Tensor z = Tensor.randn(g, 2, 18, 8, 8).mul(0.05f).requiresGrad(true);
        Tensor conv = Convolution.conv2d(x, w, null, 1, 1);
        Tensor gn = Normalization.groupNorm(conv, 8, null, null, 1e-6f).silu();
        Tensor mm = a.matmul(b);
        Tensor rms = Normalization.rmsNorm(mm, rw, 1e-5f);
        Tensor att = Attention.causal(q, q.mul(0.5f), q.mul(2f));
        Tensor ent = Lfq.entropy(z, 0.01f);
        Tensor loss = gn.square().mean().add(rms.square().mean()).add(att.square().mean()).add(ent.sum());
        loss.backward();
        List<float[]> out = new ArrayList<>();
        for (Tensor t : List.of(conv, gn, mm, rms, att, ent, x.grad(), w.grad(), a.grad(), b.grad(), rw.grad(), q.grad(), z.grad())) out.add(t.toFloatArray());
        return out;
    }

    @Test
    void sameBitsForAnyThreadCount() {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(1);
            List<float[]> one = run();
            for (int threads : new int[] {2, 3}) {
                Parallel.setThreads(threads);
                List<float[]> many = run();
                for (int i = 0; i < one.size(); i++) assertArrayEquals(one.get(i), many.get(i), "output " + i + " with " + threads + " threads");
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
