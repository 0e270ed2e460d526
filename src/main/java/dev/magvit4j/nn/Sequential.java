package dev.magvit4j.nn;

import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Layers applied in order, registered under their indices "0", "1", ... as in PyTorch, or under
 * explicit increasing indices when a model keeps another model's numbering (LPIPS's VGG slices
 * keep torchvision's feature indices: slice2 holds 4 .. 8).
 */
public final class Sequential extends Module implements Layer {

    private final List<Layer> layers = new ArrayList<>();
    private int next;

    public <M extends Module & Layer> Sequential add(M layer) {
        return addAt(next, layer);
    }

    /** Adds a layer under an explicit index, which must be above every index used so far. */
    public <M extends Module & Layer> Sequential addAt(int index, M layer) {
        if (index < next) throw new IllegalArgumentException("index " + index + " is not above the last one, " + (next - 1));
        child(Integer.toString(index), layer);
        layers.add(layer);
        next = index + 1;
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
