package dev.magvit4j.cli;

import dev.magvit4j.ar.ArConfig;
import dev.magvit4j.ar.Sampler;
import dev.magvit4j.ar.Sampling;
import dev.magvit4j.ar.Transformer;
import dev.magvit4j.image.Images;
import dev.magvit4j.image.PixelRounding;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** {@code generate}: class labels to images through the AR transformer and the tokenizer's decoder. */
final class ArCommands {

    private ArCommands() {}

    static final Set<String> VALUED = Set.of("checkpoint", "tokenizer", "classes", "random", "per-class", "temperature", "top-k", "top-p",
            "guidance", "seed", "batch", "heads", "out", "columns", "threads", "rounding", "preset", "device");
    static final Set<String> FLAGS = Set.of("live-weights");

    static int generate(Args a) throws IOException {
        Main.threads(a);
        String ckpt = a.get("checkpoint", null);
        if (ckpt == null) throw new CliException("--checkpoint FILE is required (an Open-MAGVIT2 AR .ckpt, or a .safetensors written by magvit4j)");
        Device device = Main.device(a);
        Transformer model = Transformer.load(Path.of(ckpt), a.getInt("heads", 0), 0).to(device);
        ArConfig c = model.config;
        Path tokFile = Path.of(a.get("tokenizer", ckpt));
        Tokenizer tok = Tokenizer.load(tokFile, a.flag("live-weights") ? Tokenizer.Weights.LIVE : Tokenizer.Weights.EMA_IF_PRESENT, Tokenizer.Parts.DECODER).to(device);
        if (!Arrays.equals(tok.quantize.factorizedBits, new int[] {c.preBits(), c.postBits()})) {
            throw new CliException(tokFile + ": the tokenizer's sub-tokens are " + Arrays.toString(tok.quantize.factorizedBits) + " bits but the transformer's are ["
                    + c.preBits() + ", " + c.postBits() + "]");
        }

        long seed = a.getInt("seed", 0);
        long[] classes = classes(a, c, seed);
        Sampling settings = sampling(a, c);
        int batch = a.getInt("batch", 8);
        if (batch < 1) throw new CliException("--batch must be at least 1, got " + batch);
        Path dir = TokenizerCommands.outputDir(a, "generated");
        PixelRounding rounding = TokenizerCommands.rounding(a);

        int g = c.grid(), n = classes.length;
        System.err.printf(Locale.ROOT, "generating %d image(s) of %dx%d tokens: %d-parameter transformer, %s%n", n, g, g, model.numParameters(), describe(settings));
        List<Tensor> images = new ArrayList<>();
        Sampler sampler = new Sampler(model);
        long t0 = System.nanoTime();
        try (Progress progress = new Progress("generate", n * c.blockSize(), "tok")) {
            for (int i0 = 0; i0 < n; i0 += batch) {
                int i1 = Math.min(n, i0 + batch), count = i1 - i0;
                long[] seeds = new long[count];
                for (int i = 0; i < count; i++) seeds[i] = seed + i0 + i;   // image i always draws with seed + i
                int[] done = {0};
                Sampler.Tokens t = sampler.sample(Arrays.copyOfRange(classes, i0, i1), seeds, settings, positions -> {
                    progress.advance(count * (positions - done[0]));
                    done[0] = positions;
                });
                Tensor[] grid = t.grid(g);
                Tensor decoded = tok.decode(grid[0], grid[1]);
                for (int i = 0; i < count; i++) {
                    Tensor img = decoded.select(0, i);
                    images.add(img);
                    Images.writePng(img, dir.resolve(String.format(Locale.ROOT, "%04d_class%d.png", i0 + i, classes[i0 + i])), rounding);
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        int columns = a.getInt("columns", (int) Math.ceil(Math.sqrt(n)));
        Images.writePng(Images.grid(images, Math.max(1, columns), 2), dir.resolve("grid.png"), rounding);
        System.out.printf(Locale.ROOT, "generated %d image(s) into %s (grid.png and one PNG each): %.1f s, %.2f image tokens/s%n", n, dir, seconds,
                n * (double) c.blockSize() / seconds);
        return 0;
    }

    /** --classes 1,207,360 (each --per-class times), or --random N classes drawn with the seed. */
    private static long[] classes(Args a, ArConfig c, long seed) {
        String list = a.get("classes", null), random = a.get("random", null);
        if ((list == null) == (random == null)) throw new CliException("give either --classes 1,207,360 or --random N");
        int perClass = a.getInt("per-class", 1);
        if (perClass < 1) throw new CliException("--per-class must be at least 1, got " + perClass);
        List<Long> base = new ArrayList<>();
        if (list != null) {
            for (String s : list.split(",")) {
                long v;
                try {
                    v = Long.parseLong(s.trim());
                } catch (NumberFormatException e) {
                    throw new CliException("--classes needs comma-separated integers, got '" + s.trim() + "'");
                }
                if (v < 0 || v >= c.classNum()) throw new CliException("class " + v + " is out of range: the model has classes 0.." + (c.classNum() - 1));
                base.add(v);
            }
        } else {
            int count = a.getInt("random", 0);
            if (count < 1) throw new CliException("--random must be at least 1, got " + count);
            Generator gen = new Generator(seed ^ 0x5DEECE66DL);
            for (int i = 0; i < count; i++) base.add((long) gen.nextInt(c.classNum()));
        }
        long[] out = new long[base.size() * perClass];
        for (int i = 0; i < base.size(); i++) Arrays.fill(out, i * perClass, (i + 1) * perClass, base.get(i));
        return out;
    }

    /**
     * The released settings of the model's preset (chosen by --preset, else by its width: 1024 B,
     * 1280 L, 1536 XL, others B), with any of --temperature, --top-k, --top-p, --guidance given
     * as one value for both sub-tokens or as "pre,post".
     */
    private static Sampling sampling(Args a, ArConfig c) {
        String preset = a.get("preset", c.dim() == 1280 ? "L" : c.dim() == 1536 ? "XL" : "B");
        Sampling d;
        try {
            d = Sampling.released(preset);
        } catch (IllegalArgumentException e) {
            throw new CliException("--preset " + preset + ": use B, L or XL");
        }
        float[] t = pair(a, "temperature", d.pre().temperature(), d.post().temperature());
        float[] k = pair(a, "top-k", d.pre().topK(), d.post().topK());
        float[] p = pair(a, "top-p", d.pre().topP(), d.post().topP());
        float[] s = pair(a, "guidance", d.pre().guidance(), d.post().guidance());
        try {
            return new Sampling(new Sampling.SubToken(t[0], (int) k[0], p[0], s[0]), new Sampling.SubToken(t[1], (int) k[1], p[1], s[1]));
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
    }

    private static float[] pair(Args a, String name, float pre, float post) {
        String v = a.get(name, null);
        if (v == null) return new float[] {pre, post};
        String[] parts = v.split(",");
        if (parts.length > 2) throw new CliException("--" + name + " takes one value or two (pre,post), got '" + v + "'");
        try {
            float x = Float.parseFloat(parts[0].trim());
            return new float[] {x, parts.length == 2 ? Float.parseFloat(parts[1].trim()) : x};
        } catch (NumberFormatException e) {
            throw new CliException("--" + name + " needs numbers, got '" + v + "'");
        }
    }

    private static String describe(Sampling s) {
        return String.format(Locale.ROOT, "temperature %s/%s, top-k %d/%d, top-p %s/%s, guidance %s/%s", s.pre().temperature(), s.post().temperature(),
                s.pre().topK(), s.post().topK(), s.pre().topP(), s.post().topP(), s.pre().guidance(), s.post().guidance());
    }
}
