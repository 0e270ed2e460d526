package dev.magvit4j.cli;

import dev.magvit4j.data.BuiltinImages;
import dev.magvit4j.data.Dataset;
import dev.magvit4j.data.ImageFolder;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tokenizer.Lpips;
import dev.magvit4j.tokenizer.TokenFile;
import dev.magvit4j.tokenizer.Tokenizer;
import dev.magvit4j.train.ArTraining;
import dev.magvit4j.train.Demo;
import dev.magvit4j.train.Settings;
import dev.magvit4j.train.TokenSet;
import dev.magvit4j.train.TokenizerTraining;
import dev.magvit4j.train.Training;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/** {@code train-tokenizer}, {@code train-ar} and {@code demo}: the two training stages and the offline demo that runs both. */
final class TrainCommands {

    private TrainCommands() {}

    static final Set<String> VALUED = Set.of("data", "builtin", "held-out", "config", "out", "steps", "checkpoint-every", "keep", "pictures-every",
            "lpips-vgg", "lpips-lin", "tokens", "tokenizer", "threads", "device");
    static final Set<String> FLAGS = Set.of();

    static int trainTokenizer(Args a) throws IOException {
        Main.threads(a);
        Device device = Main.device(a);
        Settings settings = Settings.load(configFile(a), a.extra);
        TokenizerTraining.Recipe recipe = TokenizerTraining.Recipe.from(settings);
        settings.checkAllUsed("tokenizer training");
        Dataset data = data(a, recipe.imageSize(), recipe.seed());
        Dataset heldOut = a.get("held-out", null) != null ? new ImageFolder(Path.of(a.get("held-out", null))) : data;
        Lpips lpips = lpips(a);
        Training.Options o = options(a, "train-tokenizer", 10_000);
        System.err.println(recipe);
        System.err.println("data: " + data.size() + " images in " + data.numClasses() + " class(es); "
                + (lpips == null ? "perceptual loss OFF (give --lpips-vgg and --lpips-lin weights to turn it on)" : "perceptual loss on (LPIPS-VGG16)"));
        try (TokenizerTraining stage = new TokenizerTraining(recipe, data, heldOut, lpips, device)) {
            Training.Outcome r = Training.run(stage, o);
            report(r, o);
        }
        return 0;
    }

    static int trainAr(Args a) throws IOException {
        Main.threads(a);
        Device device = Main.device(a);
        String tokFile = a.get("tokenizer", null);
        String tokensFile = a.get("tokens", null);
        Tokenizer tokenizer = tokFile == null ? null : Tokenizer.load(Path.of(tokFile), Tokenizer.Weights.EMA_IF_PRESENT);
        Training.Options o = options(a, "train-ar", 10_000);
        Settings settings = Settings.load(configFile(a), a.extra);
        ArTraining stage;
        if (tokensFile != null) {
            TokenSet tokens = TokenSet.of(TokenFile.read(Path.of(tokensFile)));
            ArTraining.Recipe recipe = ArTraining.Recipe.from(settings, tokens.length(), tokens.classes().size(), o.steps());
            settings.checkAllUsed("AR training");
            System.err.println(recipe);
            System.err.println("data: " + tokens.size() + " token grids in " + tokens.classes().size() + " class(es) from " + tokensFile
                    + (tokenizer == null ? "; no --tokenizer, so no sample pictures" : ""));
            stage = new ArTraining(recipe, tokens, tokenizer, device);
        } else {
            if (tokenizer == null) throw new CliException("give --tokens FILE (from ./magvit4j encode) or --tokenizer CKPT with --data FOLDER or --builtin N");
            int imageSize = (int) settings.getLong("image_size", 16L * tokenizer.config.downsampling());
            if (imageSize % tokenizer.config.downsampling() != 0) {
                throw new CliException("--image-size " + imageSize + " is not a multiple of the tokenizer's downsampling factor " + tokenizer.config.downsampling());
            }
            int grid = imageSize / tokenizer.config.downsampling();
            Dataset data = data(a, imageSize, settings.getLong("seed", 0));
            ArTraining.Recipe recipe = ArTraining.Recipe.from(settings, grid * grid, data.numClasses(), o.steps());
            settings.checkAllUsed("AR training");
            System.err.println(recipe);
            System.err.println("data: " + data.size() + " images in " + data.numClasses() + " class(es), encoded on the fly by " + tokFile);
            stage = new ArTraining(recipe, data, imageSize, tokenizer, device);
        }
        try (stage) {
            report(Training.run(stage, o), o);
        }
        return 0;
    }

    static int demo(Args a) throws IOException {
        Main.threads(a);
        Device device = Main.device(a);
        Path out = Path.of(a.get("out", "demo"));
        Demo.Plan plan = a.flag("quick") ? Demo.Plan.QUICK : Demo.Plan.FULL;
        Demo.Summary s = Demo.run(plan, out, System.err, System.console() != null, device);
        System.out.println(s.text());
        return 0;
    }

    private static Path configFile(Args a) {
        String c = a.get("config", null);
        return c == null ? null : Path.of(c);
    }

    /** --data FOLDER (ImageNet-style or flat) or --builtin N (the procedural set, rendered at the training size). */
    private static Dataset data(Args a, int imageSize, long seed) throws IOException {
        String folder = a.get("data", null), builtin = a.get("builtin", null);
        if ((folder == null) == (builtin == null)) throw new CliException("give either --data FOLDER (class subfolders, or images directly) or --builtin N (N procedural images)");
        if (folder != null) return new ImageFolder(Path.of(folder));
        int n = a.getInt("builtin", 0);
        if (n < 1) throw new CliException("--builtin must be at least 1, got " + n);
        return new BuiltinImages(seed, imageSize, n);
    }

    private static Lpips lpips(Args a) throws IOException {
        String vgg = a.get("lpips-vgg", null), lin = a.get("lpips-lin", null);
        if (vgg == null && lin == null) return null;
        if (vgg == null || lin == null) throw new CliException("LPIPS needs both --lpips-vgg (torchvision VGG16 weights) and --lpips-lin (the LPIPS linear layers)");
        return Lpips.load(Path.of(vgg), Path.of(lin));
    }

    private static Training.Options options(Args a, String fallbackOut, int fallbackSteps) {
        int steps = a.getInt("steps", fallbackSteps);
        int every = a.getInt("checkpoint-every", Math.max(1, Math.min(1000, steps / 10)));
        return new Training.Options(Path.of(a.get("out", fallbackOut)), steps, every, a.getInt("keep", 3),
                a.getInt("pictures-every", every), true, System.err, System.console() != null);
    }

    private static void report(Training.Outcome r, Training.Options o) {
        System.err.printf(java.util.Locale.ROOT, "trained steps %d..%d in %.1f s (%d update(s) skipped); checkpoints in %s, metrics.csv, plots/ and pictures/ in %s%n",
                r.startStep(), r.step(), r.seconds(), r.skipped(), o.out().resolve("checkpoints"), o.out());
    }
}
