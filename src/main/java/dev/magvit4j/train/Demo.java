package dev.magvit4j.train;

import dev.magvit4j.data.BuiltinImages;
import dev.magvit4j.data.Loader;
import dev.magvit4j.image.Images;
import dev.magvit4j.io.AtomicFiles;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The offline demo: both stages of Open-MAGVIT2 trained small on the procedural image set
 * ({@link BuiltinImages}), on the CPU (or a GPU), with nothing to download.
 *
 * <ol>
 * <li>a small tokenizer (32x32 images to 8x8 tokens of 18 bits) trained as a GAN
 *     ({@link TokenizerTraining}), output in {@code OUT/tokenizer/};
 * <li>the training images encoded once by its EMA weights ({@link TokenSet});
 * <li>a small AR transformer trained on those tokens, class-conditional ({@link ArTraining}),
 *     output in {@code OUT/ar/};
 * <li>the summary: PSNR of held-out images (never trained on), codebook usage, the AR loss, and
 *     the final pictures copied to {@code OUT/}: {@code reconstructions.png} (originals above,
 *     reconstructions below), {@code samples.png} (one row per class), the plots, {@code summary.txt}.
 * </ol>
 *
 * Both stages resume from their checkpoints when run again with the same folder.
 */
public final class Demo {

    private Demo() {}

    /** How much to train: FULL is the README's demo (under 10 minutes on 2 cores), QUICK a smoke test of every step. */
    public enum Plan {
        FULL(4000, 600, 16, 500, 32, 128, 4, 4),
        QUICK(64, 4, 4, 4, 4, 64, 2, 1);

        final int images, tokenizerSteps, tokenizerBatch, arSteps, arBatch, arDim, arHeads, arLayers;

        Plan(int images, int tokenizerSteps, int tokenizerBatch, int arSteps, int arBatch, int arDim, int arHeads, int arLayers) {
            this.images = images;
            this.tokenizerSteps = tokenizerSteps;
            this.tokenizerBatch = tokenizerBatch;
            this.arSteps = arSteps;
            this.arBatch = arBatch;
            this.arDim = arDim;
            this.arHeads = arHeads;
            this.arLayers = arLayers;
        }
    }

    static final int IMAGE_SIZE = 32, HELD_OUT = 64;
    static final long SEED = 1;

    /** What the demo measured. */
    public record Summary(Path out, double psnr, int distinctCodes, int heldOutTokens, double trainCodebookUsage, double arLoss,
                          double tokenizerSeconds, double arSeconds) {
        public String text() {
            return String.format(Locale.ROOT, """
                            magvit4j demo: %s
                              tokenizer: held-out PSNR %.2f dB over %d images; %d distinct codes among their %d tokens (%.1f%%); \
                            training batches use %.1f%% distinct codes; %.0f s
                              AR model:  training loss %.3f (pre + post cross-entropy, mean of the last steps); %.0f s
                              pictures:  reconstructions.png (originals above, reconstructions below), samples.png (one row per class:
                                         %s), plots/*.png; checkpoints and metrics.csv in tokenizer/ and ar/
                            """, out, psnr, HELD_OUT, distinctCodes, heldOutTokens, 100.0 * distinctCodes / heldOutTokens,
                    100 * trainCodebookUsage, tokenizerSeconds, arLoss, arSeconds, BuiltinImages.describe());
        }
    }

    /** The demo on the CPU. */
    public static Summary run(Plan plan, Path out, PrintStream log, boolean live) throws IOException {
        return run(plan, out, log, live, Device.CPU);
    }

    /** The demo with both stages trained (and the pictures made) on {@code device}. */
    public static Summary run(Plan plan, Path out, PrintStream log, boolean live, Device device) throws IOException {
        Files.createDirectories(out);
        BuiltinImages train = new BuiltinImages(SEED, IMAGE_SIZE, plan.images);
        BuiltinImages heldOut = new BuiltinImages(SEED + 1, IMAGE_SIZE, HELD_OUT);

        // Stage I: the tokenizer.
        Map<String, Object> tok = new LinkedHashMap<>();
        tok.put("ch", 32);
        tok.put("ch_mult", List.of(1, 2, 2));
        tok.put("num_res_blocks", 1);
        tok.put("image_size", IMAGE_SIZE);
        tok.put("batch_size", plan.tokenizerBatch);
        tok.put("lr", 4e-4);
        tok.put("disc_channels", 32);
        tok.put("disc_layers", 2);
        tok.put("disc_start", plan.tokenizerSteps * 2 / 5);
        tok.put("lr_drop_epochs", List.of());
        tok.put("seed", SEED);
        TokenizerTraining.Recipe tokRecipe = TokenizerTraining.Recipe.from(new Settings(tok));
        say(log, "stage I: " + tokRecipe);
        say(log, "data: " + train.size() + " built-in images (" + BuiltinImages.describe() + "); perceptual loss off (LPIPS needs downloaded VGG16 weights)");
        Tokenizer tokenizer;
        double tokSeconds, usage;
        try (TokenizerTraining stage = new TokenizerTraining(tokRecipe, train, heldOut, null, device)) {
            Training.Outcome r = Training.run(stage, options(out.resolve("tokenizer"), plan.tokenizerSteps, log, live));
            tokSeconds = r.seconds();
            usage = r.metrics().recentMean("codebook_usage", 50);
            tokenizer = stage.emaTokenizer();
        }

        // Held-out reconstructions and codebook use.
        Tensor x = Loader.evalBatch(heldOut, 0, HELD_OUT, IMAGE_SIZE);
        Tokenizer.Tokens codes = tokenizer.encode(x);
        Tensor rec = tokenizer.decodeCodes(codes.codes()).toCpu();
        double psnr = 0;
        for (int i = 0; i < HELD_OUT; i++) psnr += Images.psnr(x.select(0, i), rec.select(0, i)) / HELD_OUT;
        Set<Long> distinct = new HashSet<>();
        for (long c : codes.indices().toLongArray()) distinct.add(c);

        // Stage II: the AR model on the training images' tokens.
        say(log, "encoding the " + train.size() + " training images for the AR model");
        TokenSet tokens = encode(tokenizer, train);
        Map<String, Object> ar = new LinkedHashMap<>();
        ar.put("dim", plan.arDim);
        ar.put("heads", plan.arHeads);
        ar.put("spatial_layers", plan.arLayers);
        ar.put("factorized_layers", 1);
        ar.put("batch_size", plan.arBatch);
        ar.put("lr", 1e-3);
        // Sampling for the pictures: a little colder than the released settings, with stronger
        // guidance, suits a model trained for minutes (measured: textures come out recognisable).
        ar.put("sample_temperature", 0.85);
        ar.put("sample_top_k", 100);
        ar.put("sample_guidance", 3.0);
        ar.put("seed", SEED);
        ArTraining.Recipe arRecipe = ArTraining.Recipe.from(new Settings(ar), tokens.length(), tokens.classes().size(), plan.arSteps);
        say(log, "stage II: " + arRecipe);
        double arSeconds, arLoss;
        try (ArTraining stage = new ArTraining(arRecipe, tokens, tokenizer, device)) {
            Training.Outcome r = Training.run(stage, options(out.resolve("ar"), plan.arSteps, log, live));
            arSeconds = r.seconds();
            arLoss = r.metrics().recentMean("loss", 20);
        }

        // The final pictures and plots, side by side in OUT.
        copy(out.resolve("tokenizer/pictures").resolve(String.format("reconstructions-step-%08d.png", plan.tokenizerSteps)), out.resolve("reconstructions.png"));
        copy(out.resolve("ar/pictures").resolve(String.format("samples-step-%08d.png", plan.arSteps)), out.resolve("samples.png"));
        for (Path dir : List.of(out.resolve("tokenizer/plots"), out.resolve("ar/plots"))) {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    if (p.getFileName().toString().endsWith(".png") && !p.getFileName().toString().startsWith(".")) copy(p, out.resolve("plots").resolve(p.getFileName()));
                }
            }
        }
        Summary s = new Summary(out, psnr, distinct.size(), codes.indices().numel(), usage, arLoss, tokSeconds, arSeconds);
        AtomicFiles.write(out.resolve("summary.txt"), s.text().getBytes(StandardCharsets.UTF_8));
        return s;
    }

    /** Every image of the set through the evaluation transform and the tokenizer, in batches. */
    static TokenSet encode(Tokenizer tokenizer, BuiltinImages data) throws IOException {
        int n = data.size(), batch = 64;
        long[] pre = null, post = null, labels = new long[n];
        int t = 0;
        for (int i0 = 0; i0 < n; i0 += batch) {
            int count = Math.min(batch, n - i0);
            Tokenizer.Tokens k = tokenizer.encode(Loader.evalBatch(data, i0, count, data.imageSize()));
            long[] p = k.pre().toLongArray(), q = k.post().toLongArray();
            if (pre == null) {
                t = p.length / count;
                pre = new long[n * t];
                post = new long[n * t];
            }
            System.arraycopy(p, 0, pre, i0 * t, p.length);
            System.arraycopy(q, 0, post, i0 * t, q.length);
            for (int i = 0; i < count; i++) labels[i0 + i] = data.label(i0 + i);
        }
        List<String> classes = new ArrayList<>();
        for (int c = 0; c < data.numClasses(); c++) classes.add(data.className(c));
        return new TokenSet(Tensor.ofLongs(pre, n, t), Tensor.ofLongs(post, n, t), labels, classes);
    }

    private static Training.Options options(Path dir, int steps, PrintStream log, boolean live) {
        int every = Math.max(1, steps / 4);
        return new Training.Options(dir, steps, every, 2, every, true, log, live);
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to.toAbsolutePath().getParent());
        AtomicFiles.write(to, Files.readAllBytes(from));
    }

    private static void say(PrintStream log, String msg) {
        if (log != null) log.println(msg);
    }
}
