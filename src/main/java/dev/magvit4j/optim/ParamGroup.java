package dev.magvit4j.optim;

import dev.magvit4j.tensor.Tensor;

import java.util.List;

/**
 * Parameters that share optimiser settings. The learning rate is mutable so schedules can
 * change it between steps.
 */
public final class ParamGroup {

    public final List<Tensor> params;
    public final float weightDecay;
    private float lr;

    public ParamGroup(List<Tensor> params, float lr, float weightDecay) {
        this.params = List.copyOf(params);
        this.lr = lr;
        this.weightDecay = weightDecay;
    }

    public float lr() {
        return lr;
    }

    public void setLr(float lr) {
        this.lr = lr;
    }
}
