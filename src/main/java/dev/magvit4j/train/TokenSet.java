package dev.magvit4j.train;

import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.TokenFile;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Token grids ready for AR training: sub-tokens pre and post [N, T] (int64, raster order),
 * a class label per grid [N] and the class names.
 */
public record TokenSet(Tensor pre, Tensor post, long[] labels, List<String> classes) {

    public TokenSet {
        if (pre.dim() != 2 || !java.util.Arrays.equals(pre.shapeRef(), post.shapeRef())) {
            throw new IllegalArgumentException("token set needs pre and post of one shape [N, T]");
        }
        if (labels.length != pre.size(0)) throw new IllegalArgumentException(labels.length + " labels for " + pre.size(0) + " token grids");
        for (long l : labels) {
            if (l < 0 || l >= classes.size()) throw new IllegalArgumentException("label " + l + " is out of range for " + classes.size() + " classes");
        }
        classes = List.copyOf(classes);
    }

    public int size() {
        return pre.size(0);
    }

    /** Tokens per grid. */
    public int length() {
        return pre.size(1);
    }

    /**
     * The grids of a token file made by {@code ./magvit4j encode}. Labels come from the names: when
     * every name lies in a subfolder (an ImageNet-style folder was encoded), the class is the
     * first folder, classes sorted by name; otherwise there is one class, "images".
     */
    public static TokenSet of(TokenFile file) {
        int n = file.count(), t = file.pre().size(1) * file.pre().size(2);
        boolean folders = !file.names().isEmpty();
        for (String name : file.names()) folders &= name.replace('\\', '/').indexOf('/') > 0;
        List<String> classes = new ArrayList<>();
        long[] labels = new long[n];
        if (folders) {
            TreeSet<String> sorted = new TreeSet<>();
            for (String name : file.names()) sorted.add(firstFolder(name));
            classes.addAll(sorted);
            for (int i = 0; i < n; i++) labels[i] = classes.indexOf(firstFolder(file.names().get(i)));
        } else {
            classes.add("images");
        }
        return new TokenSet(file.pre().reshape(n, t), file.post().reshape(n, t), labels, classes);
    }

    private static String firstFolder(String name) {
        String s = name.replace('\\', '/');
        return s.substring(0, s.indexOf('/'));
    }
}
