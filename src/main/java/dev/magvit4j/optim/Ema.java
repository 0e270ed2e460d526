package dev.magvit4j.optim;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.backend.Backends;
import dev.magvit4j.nn.Module;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exponential moving average of a module's parameters: shadow = d·shadow + (1-d)·param after
 * each step. With warmup (the reference's LitEma default) the decay starts low and rises:
 * d = min(decay, (1 + n) / (10 + n)) for the n-th update, counting from 1 (LitEma increments
 * its counter before using it).
 */
public final class Ema {

    private final Map<String, Tensor> shadow = new LinkedHashMap<>();
    private final float decay;
    private final boolean warmup;
    private long updates;

    public Ema(Module module, float decay, boolean warmup) {
        if (!(decay >= 0 && decay <= 1)) throw new IllegalArgumentException("EMA decay must be in [0, 1], got " + decay);
        this.decay = decay;
        this.warmup = warmup;
        try (var ignored = Autograd.noGrad()) {
            module.namedParameters().forEach((name, p) -> shadow.put(name, p.detach().copy()));
        }
    }

    public long updates() {
        return updates;
    }

    /** The decay the next update will use: LitEma counts the update first, so the n-th (from 1) uses (1 + n) / (10 + n). */
    public float currentDecay() {
        long n = updates + 1;
        return warmup ? Math.min(decay, (1f + n) / (10f + n)) : decay;
    }

    public void update(Module module) {
        float d = currentDecay();
        updates++;
        try (var ignored = Autograd.noGrad()) {
            List<Tensor> params = new ArrayList<>(), shadows = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : module.namedParameters().entrySet()) {
                Tensor s = shadow.get(e.getKey());
                if (s == null) throw new IllegalArgumentException("EMA has no shadow for parameter " + e.getKey());
                params.add(e.getValue());
                shadows.add(s);
            }
            Backends.byBackend(shadows).forEach((be, at) -> be.axpbys(1f - d, Backends.pick(params, at), d, Backends.pick(shadows, at)));
        }
    }

    /** The averaged weights by parameter name (live tensors, not copies). */
    public Map<String, Tensor> shadow() {
        return shadow;
    }

    /** Restores a checkpoint's averages (by parameter name) and update count. */
    public void restore(Map<String, Tensor> weights, long updates) {
        for (Map.Entry<String, Tensor> e : shadow.entrySet()) {
            Tensor w = weights.get(e.getKey());
            if (w == null || !java.util.Arrays.equals(w.shapeRef(), e.getValue().shapeRef())) {
                throw new IllegalArgumentException("EMA weights lack " + e.getKey() + " or have the wrong shape");
            }
            e.setValue(w.to(e.getValue().device()).copy());
        }
        this.updates = updates;
    }

    /** Writes the averaged weights into a module of the same structure. */
    public void copyTo(Module module) {
        module.loadStateDict(shadow, false);
    }
}
