package dev.magvit4j.nn;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Submodules of one kind registered under their indices "0", "1", ..., iterated in order. */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {

    private final List<M> items = new ArrayList<>();

    public M add(M module) {
        child(Integer.toString(items.size()), module);
        items.add(module);
        return module;
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    @Override
    public Iterator<M> iterator() {
        return items.iterator();
    }
}
