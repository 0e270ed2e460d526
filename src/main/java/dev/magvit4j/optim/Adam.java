package dev.magvit4j.optim;

import dev.magvit4j.backend.Backends;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam (Kingma and Ba) as PyTorch computes it, with bias correction; weight decay is either
 * L2 added to the gradient (Adam) or decoupled, p -= lr·wd·p (AdamW, Loshchilov and Hutter).
 *
 * <pre>{@code
 * var opt = Adam.adamW(List.of(new ParamGroup(decayed, 3e-4f, 0.05f), new ParamGroup(rest, 3e-4f, 0f)), 0.9f, 0.95f);
 * loss.backward(); opt.step(); opt.zeroGrad();
 * }</pre>
 */
public final class Adam extends Optimizer {

    public final float beta1, beta2, eps;
    public final boolean decoupled;
    private final Map<Tensor, Tensor[]> moments = new IdentityHashMap<>();
    private long step;

    public Adam(List<ParamGroup> groups, float beta1, float beta2, float eps, boolean decoupled) {
        super(groups);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.decoupled = decoupled;
    }

    /** Adam with L2 weight decay (PyTorch's torch.optim.Adam), eps 1e-8. */
    public static Adam adam(List<ParamGroup> groups, float beta1, float beta2) {
        return new Adam(groups, beta1, beta2, 1e-8f, false);
    }

    /** AdamW with decoupled weight decay (PyTorch's torch.optim.AdamW), eps 1e-8. */
    public static Adam adamW(List<ParamGroup> groups, float beta1, float beta2) {
        return new Adam(groups, beta1, beta2, 1e-8f, true);
    }

    /** Steps taken so far. */
    public long steps() {
        return step;
    }

    /** The first and second moment of a parameter, or null before its first update. */
    public Tensor[] moments(Tensor param) {
        return moments.get(param);
    }

    /**
     * Updates every parameter that has a gradient, one group at a time, in one call per device
     * (where a backend may fuse them: {@code Backend.adamSteps}).
     */
    @Override
    public void step() {
        step++;
        for (ParamGroup g : groups) {
            List<Tensor> params = new ArrayList<>(), grads = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
            for (Tensor p : g.params) {
                if (p.grad() == null) continue;
                Tensor[] mv = moments.computeIfAbsent(p, k -> new Tensor[] {zerosLike(k), zerosLike(k)});
                params.add(p);
                grads.add(p.grad());
                m.add(mv[0]);
                v.add(mv[1]);
            }
            Backends.byBackend(params).forEach((be, at) -> be.adamSteps(Backends.pick(params, at), Backends.pick(grads, at), Backends.pick(m, at),
                    Backends.pick(v, at), g.lr(), beta1, beta2, eps, g.weightDecay, decoupled, step));
        }
    }

    /**
     * The optimiser's state for a checkpoint, keyed by parameter name: {@code <name>.exp_avg},
     * {@code <name>.exp_avg_sq} (copies) for every parameter updated so far, and {@code step}.
     */
    public Map<String, Tensor> state(Map<String, Tensor> namedParams) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("step", Tensor.ofLongs(new long[] {step}, 1));
        namedParams.forEach((name, p) -> {
            Tensor[] mv = moments.get(p);
            if (mv != null) {
                out.put(name + ".exp_avg", mv[0].copy());
                out.put(name + ".exp_avg_sq", mv[1].copy());
            }
        });
        return out;
    }

    /** Restores what {@link #state} saved; parameters without saved moments start fresh. */
    public void loadState(Map<String, Tensor> namedParams, Map<String, Tensor> state) {
        Tensor s = state.get("step");
        if (s == null || s.numel() != 1) throw new IllegalArgumentException("optimiser state lacks its step count");
        step = s.toLongArray()[0];
        moments.clear();
        namedParams.forEach((name, p) -> {
            Tensor m = state.get(name + ".exp_avg"), v = state.get(name + ".exp_avg_sq");
            if (m == null && v == null) return;
            if (m == null || v == null || !java.util.Arrays.equals(m.shapeRef(), p.shapeRef()) || !java.util.Arrays.equals(v.shapeRef(), p.shapeRef())) {
                throw new IllegalArgumentException("optimiser state for " + name + " is missing a moment or has the wrong shape");
            }
            moments.put(p, new Tensor[] {m.to(p.device()).copy(), v.to(p.device()).copy()});  // own copies, beside the parameter
        });
    }

    private static Tensor zerosLike(Tensor p) {
        Tensor z = p.backend().empty(DType.FLOAT32, p.shapeRef());
        z.backend().fill(z, 0);
        return z;
    }
}
