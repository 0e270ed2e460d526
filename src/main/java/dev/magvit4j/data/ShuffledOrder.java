package dev.magvit4j.data;

import dev.magvit4j.tensor.Generator;

/**
 * The order of an endless stream over n items: stream sample s belongs to epoch s / n and is the
 * (s mod n)-th item of that epoch's permutation, drawn from the seed and the epoch alone. So the
 * stream position is all a resume needs ({@link Loader} over images, the AR trainer over token grids).
 */
public final class ShuffledOrder {

    private final long seed;
    private final int n;
    private long epoch = -1;
    private int[] permutation;

    public ShuffledOrder(long seed, int n) {
        if (n < 1) throw new IllegalArgumentException("nothing to shuffle: " + n + " items");
        this.seed = seed;
        this.n = n;
    }

    /** The item at stream position s. */
    public int indexOf(long s) {
        long e = s / n;
        if (e != epoch) {
            permutation = permutation(seed, e, n);
            epoch = e;
        }
        return permutation[(int) (s % n)];
    }

    /** Epoch e's order: a Fisher-Yates shuffle driven by counters under a key drawn from (seed, e). */
    public static int[] permutation(long seed, long epoch, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        long key = Generator.bits(~seed, epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = (int) ((Generator.bits(key, i) >>> 1) % (i + 1));
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
