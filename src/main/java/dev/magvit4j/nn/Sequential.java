package dev.magvit4j.nn;

import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Layers applied in order, registered under their indices "0", "1", ... as in PyTorch. */
public final class Sequential extends Module implements Layer {

    private final List<Layer> layers = new ArrayList<>();

    public <M extends Module & Layer> Sequential add(M layer) {
        child(Integer.toString(layers.size()), layer);
        layers.add(layer);
        return this;
    }

    public int size() {
        return layers.size();
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Layer l : layers) x = l.forward(x);
        return x;
    }
}
