package dev.magvit4j.autograd;

import dev.magvit4j.tensor.Tensor;

/**
 * One recorded operation in the graph: the inputs it read and the function that turns the
 * gradient of its output into gradients of those inputs. Released (inputs and closure dropped)
 * once backward has passed through it, unless the graph is retained.
 */
public final class Node {

    /** Gradients of the inputs, in input order, from the gradient of the output; null entries mean "no gradient". */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor gradOutput);
    }

    private final String name;
    private Tensor[] inputs;
    private Backward backward;

    Node(String name, Backward backward, Tensor[] inputs) {
        this.name = name;
        this.backward = backward;
        this.inputs = inputs;
    }

    public String name() {
        return name;
    }

    Tensor[] inputs() {
        return inputs;
    }

    Tensor[] apply(Tensor gradOutput) {
        if (backward == null) {
            throw new IllegalStateException("backward through '" + name + "' a second time: its graph was released after the first backward; pass retainGraph=true to keep it");
        }
        return backward.apply(gradOutput);
    }

    boolean released() {
        return backward == null;
    }

    void release() {
        inputs = null;
        backward = null;
    }
}
