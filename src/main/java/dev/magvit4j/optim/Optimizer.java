package dev.magvit4j.optim;

import dev.magvit4j.tensor.Tensor;

import java.util.List;

/** Updates parameter groups from their gradients. */
public abstract class Optimizer {

    protected final List<ParamGroup> groups;

    protected Optimizer(List<ParamGroup> groups) {
        if (groups.isEmpty()) throw new IllegalArgumentException("optimiser with no parameter groups");
        this.groups = List.copyOf(groups);
    }

    public final List<ParamGroup> groups() {
        return groups;
    }

    /** One update of every parameter that has a gradient. */
    public abstract void step();

    public final void zeroGrad() {
        for (ParamGroup g : groups) for (Tensor p : g.params) p.zeroGrad();
    }

    /** Sets the learning rate of every group. */
    public final void setLr(float lr) {
        for (ParamGroup g : groups) g.setLr(lr);
    }
}
