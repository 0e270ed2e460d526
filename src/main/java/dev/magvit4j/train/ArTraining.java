package dev.magvit4j.train;

import dev.magvit4j.ar.ArConfig;
import dev.magvit4j.ar.Sampler;
import dev.magvit4j.ar.Sampling;
import dev.magvit4j.ar.Transformer;
import dev.magvit4j.data.Dataset;
import dev.magvit4j.data.Loader;
import dev.magvit4j.data.ShuffledOrder;
import dev.magvit4j.image.Images;
import dev.magvit4j.optim.Adam;
import dev.magvit4j.optim.GradClip;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Stage II: the AR transformer trained by next-sub-token prediction (SPEC.md section 2):
 * loss = CE(pre) + CE(post); AdamW (0.9, 0.95) with weight decay on parameters of two or more
 * dimensions only; linear warmup then cosine decay; gradients clipped to norm 1.0; token,
 * residual and FFN dropout and class-label dropout from the model's config. Tokens come from a
 * {@link TokenSet} (a token file, or images encoded once) or from images encoded on the fly by a
 * frozen tokenizer. Checkpoints hold {@code transformer.*}, so {@code generate} reads them.
 */
public final class ArTraining implements Stage {

    /** The settings; {@link #from} gives the released recipe for every setting not named. */
    public record Recipe(ArConfig model, int batchSize, long steps, float lr, float beta1, float beta2, float weightDecay,
                         float gradClip, long warmupSteps, float minLrRatio, Sampling sampling, long seed, int workers) {

        /**
         * Settings by name over the released recipe: the model is {@code preset} (B, L, XL; default
         * B) changed by {@code dim}, {@code heads}, {@code spatial_layers}, {@code factorized_layers}
         * and the dropouts; block size and class count come from the data. The pictures sample with
         * {@code sample_temperature}, {@code sample_top_k}, {@code sample_top_p}, {@code sample_guidance}
         * (both sub-tokens; default the preset's released settings).
         */
        public static Recipe from(Settings s, int blockSize, int classNum, long steps) {
            String preset = s.getString("preset", "B");
            ArConfig p = ArConfig.preset(preset);
            int dim = s.getInt("dim", p.dim());
            ArConfig model = new ArConfig(dim, s.getInt("heads", dim == p.dim() ? p.nHead() : Math.max(1, dim / 64)),
                    s.getInt("spatial_layers", p.spatialLayers()), s.getInt("factorized_layers", p.factorizedLayers()), blockSize, classNum,
                    p.preBits(), p.postBits(), p.normEps(), p.ropeBase(), p.multipleOf(),
                    s.getFloat("token_drop", p.tokenDrop()), s.getFloat("resid_drop", p.residDrop()), s.getFloat("ffn_drop", p.ffnDrop()),
                    s.getFloat("class_drop", p.classDrop()));
            Sampling released = Sampling.released(preset);
            Sampling.SubToken pre = released.pre(), post = released.post();
            float t = s.getFloat("sample_temperature", Float.NaN), topP = s.getFloat("sample_top_p", pre.topP()), g = s.getFloat("sample_guidance", Float.NaN);
            int k = s.getInt("sample_top_k", pre.topK());
            Sampling sampling = new Sampling(new Sampling.SubToken(Float.isNaN(t) ? pre.temperature() : t, k, topP, Float.isNaN(g) ? pre.guidance() : g),
                    new Sampling.SubToken(Float.isNaN(t) ? post.temperature() : t, k, topP, Float.isNaN(g) ? post.guidance() : g));
            Recipe r = new Recipe(model, s.getInt("batch_size", 8), steps, s.getFloat("lr", 3e-4f), s.getFloat("beta1", 0.9f),
                    s.getFloat("beta2", 0.95f), s.getFloat("weight_decay", 0.05f), s.getFloat("grad_clip", 1f),
                    s.getLong("warmup_steps", Math.max(1, steps / 20)), s.getFloat("min_lr_ratio", 0.1f), sampling, s.getLong("seed", 0), s.getInt("workers", 2));
            if (r.batchSize() < 1 || !(r.lr() > 0) || !(r.gradClip() > 0) || r.warmupSteps() < 0 || r.workers() < 1 || !(r.minLrRatio() >= 0 && r.minLrRatio() <= 1)) {
                throw new IllegalArgumentException("invalid AR training settings: batch_size " + r.batchSize() + ", lr " + r.lr() + ", grad_clip " + r.gradClip()
                        + ", warmup_steps " + r.warmupSteps() + ", workers " + r.workers() + ", min_lr_ratio " + r.minLrRatio());
            }
            return r;
        }

        @Override
        public String toString() {
            ArConfig m = model;
            return String.format(Locale.ROOT, "AR dim %d, %d heads, %d+%d layers, %d tokens, %d classes, dropout %s/%s/%s, class drop %s; batch %d, "
                            + "AdamW lr %s (%s, %s) wd %s, clip %s, warmup %d of %d steps, cosine to x%s, seed %d",
                    m.dim(), m.nHead(), m.spatialLayers(), m.factorizedLayers(), m.blockSize(), m.classNum(), m.tokenDrop(), m.residDrop(), m.ffnDrop(),
                    m.classDrop(), batchSize, lr, beta1, beta2, weightDecay, gradClip, warmupSteps, steps, minLrRatio, seed);
        }
    }

    private static final List<String> COLUMNS = List.of("loss", "loss_pre", "loss_post", "grad_norm", "lr");

    public final Recipe recipe;
    public final Transformer model;
    private final Generator gen;
    private final Adam opt;
    private final Schedule schedule;
    private final List<String> classes;
    private final Tokenizer tokenizer;
    private final TokenSet tokens;
    private final Dataset images;
    private final int imageSize;
    private final long[] tokenPre, tokenPost;
    private Loader loader;
    private final ShuffledOrder order;
    private long position;

    /**
     * Training on a token set; {@code tokenizer} (may be null: no pictures) decodes the samples.
     * The model, its optimiser state and the tokenizer live on {@code device}; the weights are
     * initialised on the CPU from the seed, so every device starts from the same ones.
     */
    public ArTraining(Recipe recipe, TokenSet tokens, Tokenizer tokenizer, Device device) {
        this(recipe, tokens, null, 0, tokens.classes(), tokenizer, device);
    }

    /** Training on images encoded on the fly (training transform) by a frozen tokenizer. */
    public ArTraining(Recipe recipe, Dataset images, int imageSize, Tokenizer tokenizer, Device device) {
        this(recipe, null, images, imageSize, classNames(images), tokenizer, device);
    }

    /** Training on a token set, on the CPU. */
    public ArTraining(Recipe recipe, TokenSet tokens, Tokenizer tokenizer) {
        this(recipe, tokens, tokenizer, Device.CPU);
    }

    private ArTraining(Recipe recipe, TokenSet tokens, Dataset images, int imageSize, List<String> classes, Tokenizer tokenizer, Device device) {
        this.recipe = recipe;
        this.tokens = tokens;
        this.images = images;
        this.imageSize = imageSize;
        this.classes = classes;
        this.tokenizer = tokenizer;
        this.tokenPre = tokens == null ? null : tokens.pre().toLongArray();
        this.tokenPost = tokens == null ? null : tokens.post().toLongArray();
        this.order = tokens == null ? null : new ShuffledOrder(recipe.seed(), tokens.size());
        if (tokens != null && tokens.length() != recipe.model().blockSize()) {
            throw new IllegalArgumentException("token grids of " + tokens.length() + " tokens, but the model's block size is " + recipe.model().blockSize());
        }
        if (classes.size() != recipe.model().classNum()) throw new IllegalArgumentException(classes.size() + " classes in the data, " + recipe.model().classNum() + " in the model");
        if (tokenizer != null && !java.util.Arrays.equals(tokenizer.quantize.factorizedBits, new int[] {recipe.model().preBits(), recipe.model().postBits()})) {
            throw new IllegalArgumentException("the tokenizer's sub-tokens are " + java.util.Arrays.toString(tokenizer.quantize.factorizedBits)
                    + " bits but the AR model's are [" + recipe.model().preBits() + ", " + recipe.model().postBits() + "]");
        }
        if (tokenizer != null) {
            tokenizer.eval();
            tokenizer.requiresGrad(false);
            tokenizer.to(device);
        }
        gen = new Generator(recipe.seed());
        model = new Transformer(recipe.model(), gen).to(device);
        model.train();
        opt = Adam.adamW(model.paramGroups(recipe.lr(), recipe.weightDecay()), recipe.beta1(), recipe.beta2());
        schedule = Schedule.warmupCosine(recipe.lr(), recipe.warmupSteps(), recipe.steps(), recipe.minLrRatio());
    }

    private static List<String> classNames(Dataset d) {
        List<String> out = new ArrayList<>();
        for (int c = 0; c < d.numClasses(); c++) out.add(d.className(c));
        return out;
    }

    @Override
    public String name() {
        return "ar";
    }

    @Override
    public List<String> columns() {
        return COLUMNS;
    }

    @Override
    public List<String> shown() {
        return List.of("loss", "loss_pre", "loss_post");
    }

    @Override
    public int batchSize() {
        return recipe.batchSize();
    }

    /** The next batch: {pre [B, T], post [B, T], labels [B]}. */
    private Tensor[] batch() throws IOException {
        int b = recipe.batchSize();
        if (tokens != null) {
            int t = tokens.length();
            long[] pre = new long[b * t], post = new long[b * t], labels = new long[b];
            for (int i = 0; i < b; i++, position++) {
                int row = order.indexOf(position);
                System.arraycopy(tokenPre, row * t, pre, i * t, t);
                System.arraycopy(tokenPost, row * t, post, i * t, t);
                labels[i] = tokens.labels()[row];
            }
            return new Tensor[] {Tensor.ofLongs(pre, b, t), Tensor.ofLongs(post, b, t), Tensor.ofLongs(labels, b)};
        }
        if (loader == null) loader = new Loader(images, b, imageSize, true, recipe.seed(), position, recipe.workers());
        Loader.Batch batch = loader.next();
        position = loader.position();
        Tokenizer.Tokens t = tokenizer.encode(batch.images());
        return new Tensor[] {t.pre().reshape(b, -1), t.post().reshape(b, -1), batch.labels()};
    }

    @Override
    public Result step(long step) throws IOException {
        Tensor[] batch = batch();
        float lr = schedule.lr(step);
        opt.setLr(lr);
        Transformer.Logits logits = model.forward(batch[0], batch[1], batch[2]);
        Tensor[] terms = model.lossTerms(logits, batch[0], batch[1]);
        Tensor loss = terms[0].add(terms[1]);
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("lr", (double) lr);
        Map<String, Tensor> named = new LinkedHashMap<>();
        named.put("loss", loss);
        named.put("loss_pre", terms[0]);
        named.put("loss_post", terms[1]);
        String bad = Stage.record(named, values);
        if (bad == null) {
            loss.backward();
            double norm = GradClip.clipGradNorm(model.parameters(), recipe.gradClip());
            values.put("grad_norm", norm);
            if (!Double.isFinite(norm)) bad = "gradient norm is " + norm;
        }
        if (bad != null) {
            opt.zeroGrad();
            return new Result(values, bad);
        }
        opt.step();
        opt.zeroGrad();
        return new Result(values, null);
    }

    // ------------------------------------------------------------------ state

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> s.put(Transformer.PREFIX + k, v));
        opt.state(model.namedParameters()).forEach((k, v) -> s.put("optimizer." + k, v));
        s.put("rng.dropout", Tensor.ofLongs(gen.state(), 2));
        s.put("data.position", Tensor.ofLongs(new long[] {position}, 1));
        return s;
    }

    @Override
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("recipe", recipe.toString());
        m.put("config", recipe.model().toString());
        m.put("heads", Integer.toString(recipe.model().nHead()));
        m.put("block_size", Integer.toString(recipe.model().blockSize()));
        m.put("classes", String.join(",", classes));
        m.put("data", tokens != null ? tokens.size() + " token grids" : images.size() + " images encoded on the fly at " + imageSize + "px");
        return m;
    }

    @Override
    public void restore(Map<String, Tensor> s) {
        model.loadStateDict(Checkpoints.strip(s, Transformer.PREFIX), true);
        opt.loadState(model.namedParameters(), Checkpoints.strip(s, "optimizer."));
        gen.setState(Checkpoints.require(s, "rng.dropout").toLongArray());
        position = Checkpoints.require(s, "data.position").toLongArray()[0];
        close();
    }

    @Override
    public void close() {
        if (loader != null) loader.close();
        loader = null;
    }

    // ------------------------------------------------------------------ pictures

    /** Sample grids: {@code perClass} images for each of the first (up to 8) classes, fixed seeds, decoded. */
    public Tensor samples(int perClass) {
        int n = Math.min(8, classes.size());
        long[] cls = new long[n * perClass], seeds = new long[n * perClass];
        for (int i = 0; i < cls.length; i++) {
            cls[i] = i / perClass;
            seeds[i] = i;
        }
        model.eval();
        try {
            Sampler.Tokens t = new Sampler(model).sample(cls, seeds, recipe.sampling(), null);
            Tensor[] grid = t.grid(recipe.model().grid());
            return tokenizer.decode(grid[0], grid[1]).toCpu();
        } finally {
            model.train();
        }
    }

    /** One row of samples per class (the first 8 classes), when a tokenizer is there to decode them. */
    @Override
    public void pictures(Path dir, long step) throws IOException {
        if (tokenizer == null || tokenizer.decoder == null) return;
        int perClass = 8;
        Tensor images = samples(perClass);
        List<Tensor> tiles = new ArrayList<>();
        for (int i = 0; i < images.size(0); i++) tiles.add(images.select(0, i));
        Images.writePng(Images.enlarge(Images.grid(tiles, perClass, 2), Plot.enlargement(images.size(2))),
                dir.resolve(String.format("samples-step-%08d.png", step)));
    }

    @Override
    public void plots(Metrics m, Path dir) throws IOException {
        Plot.write(dir.resolve("ar-loss.png"), "AR: cross-entropy of the sub-tokens", "step",
                List.of(m.series("loss"), m.series("loss_pre"), m.series("loss_post")), true);
    }

    public List<String> classes() {
        return classes;
    }
}
