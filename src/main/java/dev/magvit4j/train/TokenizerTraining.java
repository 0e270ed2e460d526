package dev.magvit4j.train;

import dev.magvit4j.data.Dataset;
import dev.magvit4j.data.Loader;
import dev.magvit4j.image.Images;
import dev.magvit4j.nn.Module;
import dev.magvit4j.optim.Adam;
import dev.magvit4j.optim.Ema;
import dev.magvit4j.optim.GradClip;
import dev.magvit4j.optim.ParamGroup;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.Discriminator;
import dev.magvit4j.tokenizer.LookupFreeQuantizer;
import dev.magvit4j.tokenizer.Lpips;
import dev.magvit4j.tokenizer.Tokenizer;
import dev.magvit4j.tokenizer.TokenizerConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Stage I: the tokenizer trained as a GAN (SPEC.md section 1, "Tokenizer losses"). Each step
 * updates the generator (encoder, quantizer, decoder) and then, from the discriminator start
 * step on, the PatchGAN discriminator, on the same batch:
 *
 * <pre>
 * generator     = L1 + w_p·LPIPS + w_adv·softplus(-mean D(x̂)) + w_ent·entropy_aux + w_commit·commitment
 * discriminator = 0.5·(mean relu(1 - D(x)) + mean relu(1 + D(x̂))) + w_lecam·LeCAM
 * </pre>
 *
 * Both with Adam (0.5, 0.9); an EMA of the generator's weights (LitEma's warmup); the learning
 * rate multiplied by a factor at given epochs. Before the discriminator start step the
 * discriminator is not run at all, where the reference runs it with weight 0 (its BatchNorm
 * statistics, LeCAM averages and Adam step count advance while its weights stay put); from the
 * start step on the two agree, and with the released start step 0 they agree throughout.
 * LPIPS needs its VGG16 and linear-layer weights;
 * without them the perceptual term is off (and the run says so). Checkpoints keep the
 * reference's names ({@code encoder.*}, {@code decoder.*}, {@code loss.discriminator.*},
 * {@code model_ema.*}), so {@code Tokenizer.load} and the CLI read them as tokenizer checkpoints.
 */
public final class TokenizerTraining implements Stage {

    /** The settings; {@link #from} gives the released recipe for every setting not named. */
    public record Recipe(TokenizerConfig model, int imageSize, int batchSize, float lr, float beta1, float beta2, float emaDecay,
                         long discStart, int discChannels, int discLayers, float perceptualWeight, float advWeight,
                         float entropyWeight, float commitWeight, float lecamWeight, float lecamDecay,
                         int[] lrDropEpochs, float lrDropFactor, long seed, int workers) {

        /**
         * Settings by name; defaults are the released recipe (SPEC.md section 1) except the batch,
         * 256 across 8 GPUs in the reference and 8 here. The model is {@code preset} ("128" or
         * "256") or {@code ch}, {@code ch_mult}, {@code num_res_blocks}, {@code z_channels}.
         */
        public static Recipe from(Settings s) {
            TokenizerConfig base = TokenizerConfig.preset(s.getString("preset", "128"));
            TokenizerConfig model = new TokenizerConfig(s.getInt("ch", base.ch()), s.getInts("ch_mult", base.chMult()),
                    s.getInt("num_res_blocks", base.numResBlocks()), s.getInt("z_channels", base.zChannels()), 3, 3);
            Recipe r = new Recipe(model, s.getInt("image_size", 16 * model.downsampling()), s.getInt("batch_size", 8),
                    s.getFloat("lr", 1e-4f), s.getFloat("beta1", 0.5f), s.getFloat("beta2", 0.9f), s.getFloat("ema_decay", 0.999f),
                    s.getLong("disc_start", 0), s.getInt("disc_channels", 64), s.getInt("disc_layers", 3),
                    s.getFloat("perceptual_weight", 1f), s.getFloat("adv_weight", 0.1f), s.getFloat("entropy_weight", 0.1f),
                    s.getFloat("commit_weight", 0.25f), s.getFloat("lecam_weight", 0.05f), s.getFloat("lecam_decay", 0.999f),
                    s.getInts("lr_drop_epochs", new int[] {200, 250}), s.getFloat("lr_drop_factor", 0.1f),
                    s.getLong("seed", 0), s.getInt("workers", 2));
            r.check();
            return r;
        }

        void check() {
            if (imageSize % model.downsampling() != 0) {
                throw new IllegalArgumentException("image_size " + imageSize + " is not a multiple of the tokenizer's downsampling factor " + model.downsampling());
            }
            if ((imageSize / model.downsampling()) * (imageSize / model.downsampling()) < 2) {
                throw new IllegalArgumentException("image_size " + imageSize + " gives fewer than 2 latent pixels; the decoder's adaptive group norm needs at least 2");
            }
            for (float w : new float[] {perceptualWeight, advWeight, entropyWeight, commitWeight, lecamWeight}) {
                if (!(w >= 0)) throw new IllegalArgumentException("loss weights must be >= 0, got " + w);
            }
            if (!(lecamDecay >= 0 && lecamDecay < 1) || !(emaDecay >= 0 && emaDecay <= 1) || !(lrDropFactor > 0)) {
                throw new IllegalArgumentException("lecam_decay must be in [0, 1), ema_decay in [0, 1] and lr_drop_factor > 0; got "
                        + lecamDecay + ", " + emaDecay + ", " + lrDropFactor);
            }
            if (batchSize < 1 || workers < 1 || !(lr > 0) || discStart < 0 || discLayers < 1 || discChannels < 1) {
                throw new IllegalArgumentException("invalid tokenizer training settings: batch_size " + batchSize + ", lr " + lr + ", workers " + workers
                        + ", disc_start " + discStart + ", disc_layers " + discLayers + ", disc_channels " + discChannels);
            }
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "tokenizer %s, %dpx, batch %d, Adam lr %s (%s, %s), EMA %s, discriminator %dx%d from step %d, "
                            + "weights: perceptual %s, adversarial %s, entropy %s, commitment %s, LeCAM %s; lr x%s at epochs %s, seed %d",
                    model, imageSize, batchSize, lr, beta1, beta2, emaDecay, discChannels, discLayers, discStart, perceptualWeight, advWeight,
                    entropyWeight, commitWeight, lecamWeight, lrDropFactor, Arrays.toString(lrDropEpochs), seed);
        }
    }

    private static final List<String> COLUMNS = List.of("loss", "l1", "perceptual", "g_adv", "entropy_aux", "commitment",
            "d_loss", "logits_real", "logits_fake", "codebook_usage", "grad_norm", "lr");

    public final Recipe recipe;
    public final Device device;
    public final Tokenizer model;
    public final Discriminator discriminator;
    private final Discriminator.LeCam lecam;
    private final Adam optG, optD;
    private final Ema ema;
    private final Lpips lpips;
    private final Dataset data, heldOut;
    private final Schedule schedule;
    private Loader loader;
    private long position;

    /** Training on the CPU. */
    public TokenizerTraining(Recipe recipe, Dataset data, Dataset heldOut, Lpips lpips) {
        this(recipe, data, heldOut, lpips, Device.CPU);
    }

    /**
     * @param heldOut images for the reconstruction pictures (the first 8; may be the training set)
     * @param lpips   the perceptual loss network, or null for none (moved to the device)
     * @param device  where the networks, their optimiser state and the EMA live; the weights are
     *                initialised on the CPU from the seed, so every device starts from the same ones
     */
    public TokenizerTraining(Recipe recipe, Dataset data, Dataset heldOut, Lpips lpips, Device device) {
        this.recipe = recipe;
        this.device = device;
        this.data = data;
        this.heldOut = heldOut;
        this.lpips = lpips;
        if (lpips != null) {
            lpips.eval();
            lpips.requiresGrad(false);
            lpips.to(device);
        }
        Generator init = new Generator(recipe.seed());
        model = new Tokenizer(recipe.model(), Tokenizer.Parts.BOTH, init);
        model.train();
        model.to(device);
        discriminator = new Discriminator(3, recipe.discChannels(), recipe.discLayers(), init);
        discriminator.train();
        discriminator.to(device);
        lecam = new Discriminator.LeCam(recipe.lecamDecay(), 0f, 0f);
        optG = Adam.adam(List.of(new ParamGroup(model.parameters(), recipe.lr(), 0f)), recipe.beta1(), recipe.beta2());
        optD = Adam.adam(List.of(new ParamGroup(discriminator.parameters(), recipe.lr(), 0f)), recipe.beta1(), recipe.beta2());
        ema = new Ema(model, recipe.emaDecay(), true);
        // Epoch e begins at stream sample e·N, in step e·N / B.
        long[] drops = new long[recipe.lrDropEpochs().length];
        for (int i = 0; i < drops.length; i++) drops[i] = (long) recipe.lrDropEpochs()[i] * data.size() / recipe.batchSize();
        schedule = Schedule.drops(recipe.lr(), drops, recipe.lrDropFactor());
    }

    @Override
    public String name() {
        return "tokenizer";
    }

    @Override
    public List<String> columns() {
        return COLUMNS;
    }

    @Override
    public List<String> shown() {
        return lpips != null ? List.of("l1", "perceptual", "d_loss", "codebook_usage") : List.of("l1", "d_loss", "codebook_usage");
    }

    @Override
    public int batchSize() {
        return recipe.batchSize();
    }

    @Override
    public Result step(long step) throws IOException {
        if (loader == null) loader = new Loader(data, recipe.batchSize(), recipe.imageSize(), true, recipe.seed(), position, recipe.workers());
        Tensor x = loader.next().images();
        position = loader.position();
        return step(step, x);
    }

    /**
     * One step on a batch of the caller's: generator, then discriminator, as {@link #step(long)}
     * does on the next batch of the training set (whose position this does not move). The step
     * number sets the learning rate and whether the discriminator runs.
     *
     * @param images [B, 3, S, S] in [-1, 1], on any device (moved to the stage's)
     */
    public Result step(long step, Tensor images) {
        if (images.dim() != 4 || images.size(1) != 3 || images.size(2) % recipe.model().downsampling() != 0
                || images.size(3) % recipe.model().downsampling() != 0) {
            throw new IllegalArgumentException("training images must be [B, 3, H, W] with H and W multiples of "
                    + recipe.model().downsampling() + ", got " + Arrays.toString(images.shape()));
        }
        Tensor x = images.to(device);
        float lr = schedule.lr(step);
        optG.setLr(lr);
        optD.setLr(lr);
        boolean gan = step >= recipe.discStart();
        // Every discriminator forward moves its BatchNorm statistics; a skipped step (generator or
        // discriminator side) puts them back as they were before the step.
        Map<String, Tensor> statistics = gan ? buffers(discriminator) : Map.of();
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("lr", (double) lr);

        // Generator: reconstruct, then the weighted sum of the terms.
        Tensor z = model.encoder.forward(x);
        LookupFreeQuantizer.Output q = model.quantize.forward(z, true);
        Tensor rec = model.decoder.forward(q.quantized());
        Map<String, Tensor> terms = new LinkedHashMap<>();
        terms.put("l1", x.sub(rec).abs().mean());
        if (lpips != null) terms.put("perceptual", lpips.forward(x, rec).mean());
        // Non-saturating: per sample the mean logit of its patches, softplus(-that), mean over the batch.
        if (gan) terms.put("g_adv", discriminator.forward(rec).mean(1, 2, 3).neg().softplus().mean());
        terms.put("entropy_aux", q.entropyAuxLoss());
        terms.put("commitment", q.commitment());
        Tensor loss = terms.get("l1");
        if (lpips != null) loss = loss.add(terms.get("perceptual").mul(recipe.perceptualWeight()));
        if (gan) loss = loss.add(terms.get("g_adv").mul(recipe.advWeight()));
        loss = loss.add(terms.get("entropy_aux").mul(recipe.entropyWeight())).add(terms.get("commitment").mul(recipe.commitWeight()));
        terms.put("loss", loss);
        values.put("codebook_usage", uniqueFraction(q.indices()));
        String bad = Stage.record(terms, values);
        if (bad != null) return skip(values, bad, statistics);
        loss.backward();
        double norm = GradClip.norm(model.parameters());
        values.put("grad_norm", norm);
        if (!Double.isFinite(norm)) return skip(values, "generator gradient norm is " + norm, statistics);
        optG.step();
        optG.zeroGrad();
        ema.update(model);

        if (gan) {
            discriminator.zeroGrad(); // the generator's adversarial term reached its weights too
            float oldReal = lecam.emaReal(), oldFake = lecam.emaFake();
            Tensor fake = rec.detach(), real = x;
            Tensor logitsReal = discriminator.forward(real), logitsFake = discriminator.forward(fake);
            Map<String, Tensor> d = new LinkedHashMap<>();
            d.put("d_loss", Discriminator.hingeLoss(logitsReal, logitsFake).add(lecam.loss(logitsReal, logitsFake).mul(recipe.lecamWeight())));
            values.put("logits_real", (double) logitsReal.detach().mean().item());
            values.put("logits_fake", (double) logitsFake.detach().mean().item());
            bad = Stage.record(d, values);
            if (bad == null) {
                d.get("d_loss").backward();
                double dn = GradClip.norm(discriminator.parameters());
                if (!Double.isFinite(dn)) bad = "discriminator gradient norm is " + dn;
            }
            if (bad != null) {
                lecam.set(oldReal, oldFake);
                discriminator.loadStateDict(statistics, false);
                optD.zeroGrad();
                return new Result(values, bad + " (discriminator; the generator was updated)");
            }
            optD.step();
            optD.zeroGrad();
        }
        return new Result(values, null);
    }

    private Result skip(Map<String, Double> values, String why, Map<String, Tensor> statistics) {
        optG.zeroGrad();
        optD.zeroGrad();
        if (!statistics.isEmpty()) discriminator.loadStateDict(statistics, false);
        return new Result(values, why);
    }

    /** Copies of a module's buffers (state-dict entries that are not parameters). */
    private static Map<String, Tensor> buffers(Module m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, Tensor> params = m.namedParameters();
        m.stateDict().forEach((k, v) -> {
            if (!params.containsKey(k)) out.put(k, v.copy());
        });
        return out;
    }

    /** Distinct codes in a batch over its token count. */
    static double uniqueFraction(Tensor indices) {
        long[] v = indices.toLongArray();
        Set<Long> seen = new HashSet<>();
        for (long i : v) seen.add(i);
        return seen.size() / (double) v.length;
    }

    // ------------------------------------------------------------------ state

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>(model.stateDict());
        discriminator.stateDict().forEach((k, v) -> s.put("loss.discriminator." + k, v));
        ema.shadow().forEach((k, v) -> s.put(Tokenizer.emaKey(k), v));
        s.put("model_ema.num_updates", Tensor.ofLongs(new long[] {ema.updates()}, 1));
        optG.state(model.namedParameters()).forEach((k, v) -> s.put("optimizer.generator." + k, v));
        optD.state(discriminator.namedParameters()).forEach((k, v) -> s.put("optimizer.discriminator." + k, v));
        s.put("loss.lecam_ema", Tensor.of(new float[] {lecam.emaReal(), lecam.emaFake()}, 2));
        s.put("data.position", Tensor.ofLongs(new long[] {position}, 1));
        return s;
    }

    @Override
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("recipe", recipe.toString());
        m.put("config", recipe.model().toString());
        m.put("data", data.size() + " images in " + data.numClasses() + " class(es)");
        return m;
    }

    @Override
    public void restore(Map<String, Tensor> s) {
        Map<String, Tensor> own = new LinkedHashMap<>();
        for (String name : model.stateDict().keySet()) if (s.containsKey(name)) own.put(name, s.get(name)); // strict load names what is missing
        model.loadStateDict(own, true);
        discriminator.loadStateDict(Checkpoints.strip(s, "loss.discriminator."), true);
        Map<String, Tensor> shadow = new LinkedHashMap<>();
        for (String name : ema.shadow().keySet()) shadow.put(name, s.get(Tokenizer.emaKey(name)));
        ema.restore(shadow, Checkpoints.require(s, "model_ema.num_updates").toLongArray()[0]);
        optG.loadState(model.namedParameters(), Checkpoints.strip(s, "optimizer.generator."));
        optD.loadState(discriminator.namedParameters(), Checkpoints.strip(s, "optimizer.discriminator."));
        float[] l = Checkpoints.require(s, "loss.lecam_ema").toFloatArray();
        lecam.set(l[0], l[1]);
        position = Checkpoints.require(s, "data.position").toLongArray()[0];
        close();
    }

    @Override
    public void close() {
        if (loader != null) loader.close();
        loader = null;
    }

    // ------------------------------------------------------------------ pictures

    /** A tokenizer in eval mode holding the EMA weights (what inference uses), on the training device. */
    public Tokenizer emaTokenizer() {
        Tokenizer t = new Tokenizer(recipe.model()).to(device);
        ema.copyTo(t);
        t.eval();
        return t;
    }

    /** Held-out images in the top row, their reconstructions (EMA weights) below. */
    @Override
    public void pictures(Path dir, long step) throws IOException {
        int n = Math.min(8, heldOut.size());
        Tensor x = Loader.evalBatch(heldOut, 0, n, recipe.imageSize());
        Tensor rec = emaTokenizer().reconstruct(x).toCpu();
        List<Tensor> tiles = new ArrayList<>();
        for (int i = 0; i < n; i++) tiles.add(x.select(0, i));
        for (int i = 0; i < n; i++) tiles.add(rec.select(0, i));
        Images.writePng(Images.enlarge(Images.grid(tiles, n, 2), Plot.enlargement(recipe.imageSize())),
                dir.resolve(String.format("reconstructions-step-%08d.png", step)));
    }

    @Override
    public void plots(Metrics m, Path dir) throws IOException {
        List<Plot.Series> losses = new ArrayList<>(List.of(m.series("l1")));
        if (lpips != null) losses.add(m.series("perceptual"));
        losses.add(m.series("commitment"));
        Plot.write(dir.resolve("tokenizer-loss.png"), "tokenizer: reconstruction and commitment", "step", losses, true);
        // The entropy term is negative (per-sample entropy minus codebook entropy), so these go on a linear axis.
        Plot.write(dir.resolve("tokenizer-objective.png"), "tokenizer: generator objective and entropy term", "step",
                List.of(m.series("loss"), m.series("entropy_aux")), false);
        Plot.write(dir.resolve("tokenizer-gan.png"), "tokenizer: discriminator", "step",
                List.of(m.series("d_loss"), m.series("g_adv"), m.series("logits_real"), m.series("logits_fake")), false);
        Plot.write(dir.resolve("tokenizer-codebook.png"), "codebook usage (distinct codes / tokens per batch)", "step",
                List.of(m.series("codebook_usage")), false);
    }
}
