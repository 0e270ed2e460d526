package dev.magvit4j.ar;

import dev.magvit4j.autograd.Autograd;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Class-conditional generation of token grids with key/value caches (SPEC.md section 2). Per
 * image position: one spatial step over all rows (the spatial cache holds every earlier
 * position), then the pre sub-token from head 0 and the post sub-token from head 1, through
 * the intra stack whose two-position cache starts empty at every position.
 *
 * <p>With guidance the batch is doubled: rows B..2B-1 carry the "no class" label. Each sample
 * draws from its own generator, seeded by its own seed, so sample i of a batch is the sample
 * that seed gives alone.
 *
 * <pre>{@code
 * Sampler.Tokens t = new Sampler(model).sample(new long[] {207, 360}, new long[] {42, 43}, Sampling.released("B"), null);
 * Tensor images = tokenizer.decode(t.grid(model.config.grid())[0], t.grid(model.config.grid())[1]);
 * }</pre>
 */
public final class Sampler {

    private final Transformer model;

    public Sampler(Transformer model) {
        this.model = model;
    }

    /** Generated sub-tokens, pre and post [B, T] (int64), T = block size, in raster order. */
    public record Tokens(Tensor pre, Tensor post) {
        /** The sub-tokens as [B, g, g] grids, as the tokenizer's decoder takes them. */
        public Tensor[] grid(int g) {
            return new Tensor[] {pre.reshape(pre.size(0), g, g), post.reshape(post.size(0), g, g)};
        }
    }

    /**
     * Samples one token grid per class (0 .. classNum-1), sample i drawing from a generator seeded
     * with seeds[i]. progress (may be null) is told the number of image positions done.
     */
    public Tokens sample(long[] classes, long[] seeds, Sampling settings, IntConsumer progress) {
        return sample(classes, seeds, settings, model.config.blockSize(), progress);
    }

    /** The first {@code positions} tokens (raster order) of what {@link #sample(long[], long[], Sampling, IntConsumer)} gives. */
    public Tokens sample(long[] classes, long[] seeds, Sampling settings, int positions, IntConsumer progress) {
        ArConfig c = model.config;
        int b = classes.length, t = positions;
        if (t < 1 || t > c.blockSize()) throw new IllegalArgumentException("can sample 1.." + c.blockSize() + " positions, not " + t);
        if (b == 0) throw new IllegalArgumentException("nothing to sample: no classes given");
        if (seeds.length != b) throw new IllegalArgumentException(b + " classes but " + seeds.length + " seeds");
        for (long cls : classes) {
            if (cls < 0 || cls >= c.classNum()) throw new IndexOutOfBoundsException("class " + cls + " is out of range 0.." + (c.classNum() - 1));
        }
        boolean guided = settings.guided();
        int rows = guided ? 2 * b : b;
        long[] labels = Arrays.copyOf(classes, rows);
        Arrays.fill(labels, b, rows, c.classNum());
        Generator[] gens = new Generator[b];
        for (int i = 0; i < b; i++) gens[i] = new Generator(seeds[i]);

        long[] pre = new long[b * t], post = new long[b * t];
        boolean wasTraining = model.isTraining();
        model.eval();
        try (var ignored = Autograd.noGrad()) {
            KVCache[] spatial = model.spatialCaches(rows), intra = model.factorizedCaches(rows);
            Tensor x = model.classEmb.forward(Tensor.ofLongs(labels, rows)).unsqueeze(1);
            for (int pos = 0; pos < t; pos++) {
                Tensor h = model.spatialStep(x, spatial);
                for (KVCache k : intra) k.clear();
                long[] p = pick(model.subTokenStep(h, intra, 0), settings.pre(), gens, guided);
                Tensor preRows = Tensor.ofLongs(repeat(p, rows), rows);
                long[] q = pick(model.subTokenStep(model.preEmb.forward(preRows).unsqueeze(1), intra, 1), settings.post(), gens, guided);
                for (int i = 0; i < b; i++) {
                    pre[i * t + pos] = p[i];
                    post[i * t + pos] = q[i];
                }
                x = model.tokenEmbedding(preRows, Tensor.ofLongs(repeat(q, rows), rows));
                if (progress != null) progress.accept(pos + 1);
            }
        } finally {
            model.train(wasTraining);
        }
        return new Tokens(Tensor.ofLongs(pre, b, t), Tensor.ofLongs(post, b, t));
    }

    private static long[] repeat(long[] v, int rows) {
        long[] out = new long[rows];
        for (int i = 0; i < rows; i++) out[i] = v[i % v.length];
        return out;
    }

    /**
     * One sub-token per sample from logits [rows, V]: guidance, then temperature, top-k, top-p,
     * draw. Plain sampling (no top-k or top-p, the released settings) takes the softmax on the
     * logits' device, so only the probabilities come back and the draw is one pass over them.
     */
    static long[] pick(Tensor logits, Sampling.SubToken s, Generator[] gens, boolean guided) {
        int b = gens.length, v = logits.size(1);
        Tensor mixed = guided ? guide(logits, b, s.guidance()) : logits;
        long[] out = new long[b];
        if (!s.greedy() && !truncates(s, v)) {
            float[] p = (s.temperature() == 1f ? mixed : mixed.mul(1f / s.temperature())).softmax(1).contiguous().toFloatArray();  // as draw() scales
            for (int i = 0; i < b; i++) out[i] = drawFrom(p, i * v, v, gens[i]);
            return out;
        }
        float[] all = mixed.contiguous().toFloatArray();
        float[] row = new float[v];
        for (int i = 0; i < b; i++) {
            System.arraycopy(all, i * v, row, 0, v);
            out[i] = s.greedy() ? argmax(row) : draw(row, s, gens[i]);
        }
        return out;
    }

    /** Classifier-free guidance of logits [2b, V] (conditional rows, then unconditional): [b, V]. */
    private static Tensor guide(Tensor logits, int b, float guidance) {
        Tensor cond = logits.slice(0, 0, b), uncond = logits.slice(0, b, 2 * b);
        return uncond.add(cond.sub(uncond).mul(guidance));   // the reference's order of operations
    }

    /** Whether top-k or top-p leaves out tokens. */
    private static boolean truncates(Sampling.SubToken s, int v) {
        return (s.topK() > 0 && s.topK() < v) || s.topP() < 1f;
    }

    /** Index j with probability p[at + j] / Σ p over the v entries at p[at..]. */
    static int drawFrom(float[] p, int at, int v, Generator gen) {
        double total = 0;
        for (int j = 0; j < v; j++) total += p[at + j];
        double u = gen.nextDouble() * total, acc = 0;
        int last = 0;
        for (int j = 0; j < v; j++) {
            if (p[at + j] == 0) continue;
            acc += p[at + j];
            last = j;
            if (u < acc) return j;
        }
        return last;
    }

    static int argmax(float[] row) {
        int best = 0;
        for (int j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
        return best;
    }

    /**
     * Divides by the temperature, keeps the topK largest logits (ties with the k-th kept) and then
     * the most likely tokens until their probability first reaches topP, and draws from the
     * softmax of what is left.
     */
    static int draw(float[] row, Sampling.SubToken s, Generator gen) {
        int v = row.length;
        double[] l = new double[v];
        float inverse = 1f / s.temperature();  // the float product the plain path's device op computes
        for (int j = 0; j < v; j++) l[j] = row[j] * inverse;
        boolean[] keep = new boolean[v];
        Arrays.fill(keep, true);
        if (s.topK() > 0 && s.topK() < v) {
            double[] sorted = l.clone();
            Arrays.sort(sorted);
            double kth = sorted[v - s.topK()];
            for (int j = 0; j < v; j++) keep[j] = l[j] >= kth;
        }
        if (s.topP() < 1f) {
            Integer[] order = new Integer[v];
            for (int j = 0; j < v; j++) order[j] = j;
            Arrays.sort(order, (a, c) -> Double.compare(l[c], l[a]));
            double max = l[order[0]], z = 0;
            for (int j = 0; j < v; j++) if (keep[j]) z += Math.exp(l[j] - max);
            double cumulative = 0;
            boolean reached = false;
            for (Integer j : order) {
                if (!keep[j]) continue;
                if (reached) keep[j] = false;
                cumulative += Math.exp(l[j] - max) / z;
                if (cumulative > s.topP()) reached = true;     // this token is the last one kept
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) if (keep[j]) max = Math.max(max, l[j]);
        float[] p = new float[v];
        for (int j = 0; j < v; j++) p[j] = keep[j] ? (float) Math.exp(l[j] - max) : 0f;
        return drawFrom(p, 0, v, gen);
    }
}
