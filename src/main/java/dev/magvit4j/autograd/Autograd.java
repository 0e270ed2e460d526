package dev.magvit4j.autograd;

import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode automatic differentiation, define by run. Ops call {@link #record} on their
 * output; {@link #backward} walks the recorded nodes from the output back to the leaves in
 * reverse topological order, accumulating gradients into the leaves' {@code grad}.
 */
public final class Autograd {

    private Autograd() {}

    private static final ThreadLocal<int[]> DISABLED = ThreadLocal.withInitial(() -> new int[1]);

    /** Whether ops record the graph on this thread. */
    public static boolean isEnabled() {
        return DISABLED.get()[0] == 0;
    }

    /**
     * A scope in which nothing is recorded: {@code try (var g = Autograd.noGrad()) { ... }}.
     * Scopes nest; gradients are recorded again once the outermost one closes.
     */
    public static NoGrad noGrad() {
        DISABLED.get()[0]++;
        return new NoGrad();
    }

    public static final class NoGrad implements AutoCloseable {
        private boolean closed;

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                DISABLED.get()[0]--;
            }
        }
    }

    /** True when an op on these inputs must be recorded. */
    public static boolean needsGrad(Tensor... inputs) {
        if (!isEnabled()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /**
     * Records {@code output} as produced by an op named {@code name} from {@code inputs}, when
     * grad mode is on and some input requires a gradient. Returns {@code output}.
     */
    public static Tensor record(Tensor output, String name, Node.Backward backward, Tensor... inputs) {
        if (needsGrad(inputs)) output.setGradFn(new Node(name, backward, inputs));
        return output;
    }

    /**
     * Backpropagates from {@code root}. With a null gradient the root must hold one element and
     * the gradient is 1. The graph is released afterwards unless {@code retainGraph}.
     */
    public static void backward(Tensor root, Tensor gradient, boolean retainGraph) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException("backward() on a tensor that does not require grad: no input of its graph has requiresGrad(true)");
        }
        if (gradient == null) {
            if (root.numel() != 1) {
                throw new IllegalArgumentException("backward() without a gradient needs a one-element output, this one has shape " + Shape.str(root.shapeRef()) + "; pass the upstream gradient");
            }
            gradient = Tensor.full(1f, root.shapeRef()).to(root.device());
        } else if (!Arrays.equals(gradient.shapeRef(), root.shapeRef())) {
            throw new IllegalArgumentException("upstream gradient of shape " + Shape.str(gradient.shapeRef()) + " for an output of shape " + Shape.str(root.shapeRef()));
        }
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        try (NoGrad ignored = noGrad()) {
            if (root.isLeaf()) {
                accumulate(root, gradient);
                return;
            }
            pending.put(root, gradient);
            for (int k = 0; k < order.size(); k++) {
                Tensor t = order.set(k, null);  // the list must not keep activations alive once passed: a GC mid-backward would copy them all
                Tensor g = pending.remove(t);
                if (g == null) continue;
                if (t.retainsGrad()) accumulate(t, g);
                Node node = t.gradFn();
                Tensor[] inputs = node.inputs();
                Tensor[] grads = node.apply(g);
                for (int i = 0; i < inputs.length; i++) {
                    Tensor in = inputs[i];
                    if (in == null || !in.requiresGrad() || grads[i] == null) continue;
                    Tensor gi = grads[i];
                    if (!Arrays.equals(gi.shapeRef(), in.shapeRef())) {
                        throw new IllegalStateException("op '" + node.name() + "' returned a gradient of shape " + Shape.str(gi.shapeRef()) + " for input " + i + " of shape " + Shape.str(in.shapeRef()));
                    }
                    if (in.isLeaf()) accumulate(in, gi);
                    else pending.merge(in, gi, Tensor::add);
                }
                if (!retainGraph) node.release();
            }
        }
    }

    /** Adds g into t.grad; the first gradient is copied so no two tensors share a grad buffer. */
    private static void accumulate(Tensor t, Tensor g) {
        Tensor current = t.grad();
        if (current == null) t.setGrad(g.copy());
        else current.backend().axpby(1f, g, 1f, current);
    }

    /** Non-leaf tensors reachable from root, each after every tensor that consumes it. */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> postOrder = new ArrayList<>();
        Map<Tensor, Boolean> visited = new IdentityHashMap<>();
        // Iterative DFS: deep graphs (hundreds of layers) must not overflow the stack.
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        if (root.isLeaf()) return postOrder;
        stack.push(new Object[] {root, 0});
        visited.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            Node node = t.gradFn();
            if (node.released()) {
                throw new IllegalStateException("backward through '" + node.name() + "' a second time: its graph was released after the first backward; pass retainGraph=true to keep it");
            }
            Tensor[] inputs = node.inputs();
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && !in.isLeaf() && visited.put(in, Boolean.TRUE) == null) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                postOrder.add(t);
            }
        }
        java.util.Collections.reverse(postOrder);
        return postOrder;
    }
}
