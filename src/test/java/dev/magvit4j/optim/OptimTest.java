package dev.magvit4j.optim;

import dev.magvit4j.nn.Linear;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptimTest {

    /** PyTorch's Adam / AdamW update, replayed in double. */
    private static double[] adamReference(double[] p, double[][] grads, double lr, double b1, double b2, double eps, double wd, boolean decoupled) {
        double[] m = new double[p.length], v = new double[p.length];
        p = p.clone();
        for (int t = 1; t <= grads.length; t++) {
            for (int i = 0; i < p.length; i++) {
                double g = grads[t - 1][i];
                if (decoupled) p[i] *= 1 - lr * wd;
                else g += wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                p[i] -= lr / (1 - Math.pow(b1, t)) * m[i] / denom;
            }
        }
        return p;
    }

    private static void checkAdam(boolean decoupled) {
        Generator gen = new Generator(decoupled ? 1 : 2);
        Tensor p = Tensor.randn(gen, 37).requiresGrad(true);
        double[] p0 = GradCheck.toDouble(p);
        double[][] grads = new double[4][];
        Adam opt = new Adam(List.of(new ParamGroup(List.of(p), 1e-2f, 0.05f)), 0.9f, 0.95f, 1e-8f, decoupled);
        for (int t = 0; t < 4; t++) {
            Tensor g = Tensor.randn(gen, 37);
            grads[t] = GradCheck.toDouble(g);
            p.setGrad(g);
            opt.step();
        }
        GradCheck.assertClose(decoupled ? "adamw" : "adam", adamReference(p0, grads, 1e-2, 0.9, 0.95, 1e-8, 0.05, decoupled), GradCheck.toDouble(p), 1e-5);
        assertEquals(4, opt.steps());
    }

    @Test
    void adamMatchesPyTorch() {
        checkAdam(false);
    }

    @Test
    void adamWDecouplesWeightDecay() {
        checkAdam(true);
    }

    @Test
    void groupsKeepTheirOwnSettings() {
        Tensor a = Tensor.ones(3).requiresGrad(true), b = Tensor.ones(3).requiresGrad(true);
        Adam opt = Adam.adamW(List.of(new ParamGroup(List.of(a), 0.1f, 0.5f), new ParamGroup(List.of(b), 0.1f, 0f)), 0.9f, 0.999f);
        a.setGrad(Tensor.zeros(3));
        b.setGrad(Tensor.zeros(3));
        opt.step();
        assertEquals(1f - 0.1f * 0.5f, a.get(0), 1e-6);   // decayed
        assertEquals(1f, b.get(0), 1e-6);                   // not decayed
        opt.setLr(0.01f);
        assertEquals(0.01f, opt.groups().get(1).lr());
        Tensor c = Tensor.ones(2).requiresGrad(true);
        Adam.adam(List.of(new ParamGroup(List.of(c), 0.1f, 0f)), 0.9f, 0.999f).step(); // no gradient: untouched
        assertEquals(1f, c.get(0));
    }

    @Test
    void clipGradNormScalesToTheLimit() {
        Tensor a = Tensor.ones(4).requiresGrad(true), b = Tensor.ones(5).requiresGrad(true);
        a.setGrad(Tensor.full(3f, 4));   // |a| = 6
        b.setGrad(Tensor.full(0f, 5));
        float norm = GradClip.clipGradNorm(List.of(a, b), 1f);
        assertEquals(6f, norm, 1e-5);
        assertEquals(1f / 6f * 3f, a.grad().get(0), 1e-5);
        a.setGrad(Tensor.full(0.1f, 4));
        GradClip.clipGradNorm(List.of(a), 1f);
        assertEquals(0.1f, a.grad().get(0), 1e-7);          // under the limit: untouched
    }

    @Test
    void emaAveragesWithOptionalWarmup() {
        Linear l = new Linear(2, 1, false, new Generator(3));
        float w0 = l.weight.get(0, 0);
        Ema ema = new Ema(l, 0.9f, false);
        l.weight.backend().fill(l.weight, 1f);
        ema.update(l);
        assertEquals(0.9f * w0 + 0.1f, ema.shadow().get("weight").get(0, 0), 1e-6);
        Ema warm = new Ema(l, 0.999f, true);
        assertEquals(2f / 11f, warm.currentDecay(), 1e-7);  // LitEma: the first update uses (1 + 1) / (10 + 1)
        warm.update(l);
        assertEquals(3f / 12f, warm.currentDecay(), 1e-7);
        Linear other = new Linear(2, 1, false, new Generator(4));
        ema.copyTo(other);
        GradCheck.assertClose("copied EMA", ema.shadow().get("weight"), other.weight, 0);
    }

    @Test
    void aFewStepsLowerTheLoss() {
        Generator gen = new Generator(7);
        Tensor x = Tensor.randn(gen, 64, 8), trueW = Tensor.randn(gen, 8, 3);
        Tensor y = x.matmul(trueW);
        Linear model = new Linear(8, 3, true, gen);
        Adam opt = Adam.adamW(List.of(new ParamGroup(model.parameters(), 0.05f, 0f)), 0.9f, 0.95f);
        float first = 0, last = 0;
        for (int step = 0; step < 60; step++) {
            Tensor loss = model.forward(x).sub(y).square().mean();
            if (step == 0) first = loss.item();
            last = loss.item();
            opt.zeroGrad();
            loss.backward();
            GradClip.clipGradNorm(model.parameters(), 1f);
            opt.step();
        }
        assertTrue(last < 0.05f * first, "loss went from " + first + " to " + last);
    }
}
