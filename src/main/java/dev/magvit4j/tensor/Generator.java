package dev.magvit4j.tensor;

/**
 * A seeded, counter-based random number generator. Element i of a draw is a pure function of
 * (seed, offset + i), so results do not depend on how many threads fill a tensor or on which
 * device does it. Each draw advances the offset by the number of counters it used.
 *
 * <p>The mixing function is SplitMix64's: value(c) = mix64(seed + (c + 1) * golden), which makes
 * the counter sequence identical to {@code new SplittableRandom(seed).nextLong()} calls.
 */
public final class Generator {

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final Generator GLOBAL = new Generator(0x5EED_0F_3A6E_17L);

    private long seed;
    private long offset;

    public Generator(long seed) {
        this.seed = seed;
    }

    /** The process-wide default generator, used where no generator is given. */
    public static Generator global() {
        return GLOBAL;
    }

    public synchronized Generator manualSeed(long seed) {
        this.seed = seed;
        this.offset = 0;
        return this;
    }

    public synchronized long seed() {
        return seed;
    }

    /** Current state as {seed, offset}: enough to resume a run bit-identically. */
    public synchronized long[] state() {
        return new long[] {seed, offset};
    }

    public synchronized void setState(long[] state) {
        this.seed = state[0];
        this.offset = state[1];
    }

    /** Reserves {@code count} counters and returns the first one. */
    public synchronized long advance(long count) {
        long start = offset;
        offset += count;
        return start;
    }

    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** 64 random bits for counter c under a seed. */
    public static long bits(long seed, long counter) {
        return mix64(seed + (counter + 1) * GOLDEN);
    }

    /** Uniform float in [0, 1) with 24 random bits. */
    public static float uniform(long seed, long counter) {
        return (bits(seed, counter) >>> 40) * 0x1.0p-24f;
    }

    /** Standard normal from counters c and c+1 (Box-Muller, cosine branch): reserve two per sample. */
    public static float normal(long seed, long counter) {
        double u1 = 1.0 - ((bits(seed, counter) >>> 11) * 0x1.0p-53); // (0, 1]
        double u2 = (bits(seed, counter + 1) >>> 11) * 0x1.0p-53;
        return (float) (Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2));
    }

    /** Uniform int in [0, bound). */
    public synchronized int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive, got " + bound);
        long r = bits(seed, offset++) >>> 1;
        return (int) (r % bound);
    }

    public synchronized float nextFloat() {
        return uniform(seed, offset++);
    }

    public synchronized double nextDouble() {
        return (bits(seed, offset++) >>> 11) * 0x1.0p-53;
    }
}
