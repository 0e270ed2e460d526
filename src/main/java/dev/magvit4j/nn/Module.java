package dev.magvit4j.nn;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Shape;
import dev.magvit4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A node of a model tree, named like PyTorch's: each module registers its parameters, buffers
 * and children under local names, and the full name of a parameter is the dotted path from the
 * root ({@code down.0.block.1.conv2.weight}), exactly the key of a PyTorch state dict.
 *
 * <pre>{@code
 * class Block extends Module {
 *     final Conv2d conv1 = child("conv1", new Conv2d(64, 64, 3, 1, 1, false));
 *     final GroupNorm norm1 = child("norm1", new GroupNorm(32, 64, 1e-6f, true));
 * }
 * }</pre>
 */
public abstract class Module {

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a trainable parameter (marked requiresGrad) under a local name. */
    protected final Tensor parameter(String name, Tensor value) {
        checkName(name);
        value.requiresGrad(true);
        parameters.put(name, value);
        return value;
    }

    /** Registers state that is saved and loaded but not trained (e.g. BatchNorm running statistics). */
    protected final Tensor buffer(String name, Tensor value) {
        checkName(name);
        buffers.put(name, value);
        return value;
    }

    /** Registers a submodule under a local name (for a list, the index: "0", "1", ...). */
    protected final <M extends Module> M child(String name, M module) {
        checkName(name);
        children.put(name, module);
        module.train(training);
        return module;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("invalid module entry name '" + name + "'");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " already has an entry named '" + name + "'");
        }
    }

    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** All parameters with their dotted names, in registration order, depth first. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, false);
        return out;
    }

    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /**
     * Parameters and buffers by dotted name, in PyTorch's state-dict order (each module's own
     * parameters, then its own buffers, then its children). The tensors are the live ones.
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true);
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out, boolean withBuffers) {
        parameters.forEach((k, v) -> out.put(prefix + k, v));
        if (withBuffers) buffers.forEach((k, v) -> out.put(prefix + k, v));
        children.forEach((k, m) -> m.collect(prefix + k + ".", out, withBuffers));
    }

    public final long numParameters() {
        long n = 0;
        for (Tensor p : namedParameters().values()) n += p.numel();
        return n;
    }

    /** What {@link #loadStateDict} found: names absent from the source, names it does not know, and shape mismatches. */
    public record LoadReport(List<String> missing, List<String> unexpected, List<String> mismatched) {
        public boolean clean() {
            return missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty();
        }

        @Override
        public String toString() {
            List<String> parts = new ArrayList<>();
            if (!missing.isEmpty()) parts.add("missing " + summary(missing));
            if (!unexpected.isEmpty()) parts.add("unexpected " + summary(unexpected));
            if (!mismatched.isEmpty()) parts.add("shape mismatch " + summary(mismatched));
            return parts.isEmpty() ? "all keys matched" : String.join("; ", parts);
        }

        private static String summary(List<String> names) {
            int show = Math.min(names.size(), 8);
            String s = String.join(", ", names.subList(0, show));
            return names.size() > show ? s + " and " + (names.size() - show) + " more" : s;
        }
    }

    /**
     * Copies values into this module's parameters and buffers by name (converting dtype,
     * keeping each tensor's identity so optimisers stay attached). With strict, any missing,
     * unexpected or mis-shaped key is an error that names them and nothing is written.
     */
    public final LoadReport loadStateDict(Map<String, Tensor> source, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        for (String k : own.keySet()) if (!source.containsKey(k)) missing.add(k);
        for (String k : source.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = source.get(e.getKey());
            if (src != null && !Arrays.equals(src.shapeRef(), e.getValue().shapeRef())) {
                mismatched.add(e.getKey() + " (checkpoint " + Shape.str(src.shapeRef()) + ", model " + Shape.str(e.getValue().shapeRef()) + ")");
            }
        }
        LoadReport report = new LoadReport(missing, unexpected, mismatched);
        if (strict && !report.clean()) throw new IllegalArgumentException("state dict does not match " + getClass().getSimpleName() + ": " + report);
        try (var ignored = Autograd.noGrad()) {
            for (Map.Entry<String, Tensor> e : own.entrySet()) {
                Tensor src = source.get(e.getKey()), dst = e.getValue();
                if (src != null && Arrays.equals(src.shapeRef(), dst.shapeRef())) dst.backend().copy(src.to(dst.device()), dst);
            }
        }
        return report;
    }

    /**
     * Moves every parameter and buffer to a device in place (each tensor keeps its identity, so
     * optimisers and fields stay attached). Returns this module.
     *
     * <pre>{@code
     * Tokenizer tok = Tokenizer.load(path).to(Device.cuda(0));
     * }</pre>
     */
    public Module to(Device device) {
        try (var ignored = Autograd.noGrad()) {
            for (Tensor t : stateDict().values()) {
                if (!t.device().equals(device)) t.setData(t.detach().to(device));
            }
        }
        return this;
    }

    /** The device of this module's first parameter or buffer (the CPU when it has none). */
    public final Device device() {
        for (Tensor t : stateDict().values()) return t.device();
        return Device.CPU;
    }

    public final Module train(boolean on) {
        training = on;
        for (Module m : children.values()) m.train(on);
        return this;
    }

    public final Module train() {
        return train(true);
    }

    public final Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    /** Marks every parameter as trainable or frozen (a frozen one gets no gradient). */
    public final Module requiresGrad(boolean on) {
        for (Tensor p : namedParameters().values()) {
            p.zeroGrad();
            p.requiresGrad(on);
        }
        return this;
    }

    public final void zeroGrad() {
        for (Tensor p : parameters.values()) p.zeroGrad();
        for (Module m : children.values()) m.zeroGrad();
    }
}
