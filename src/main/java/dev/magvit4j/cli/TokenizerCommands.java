package dev.magvit4j.cli;

import dev.magvit4j.image.Images;
import dev.magvit4j.image.PixelRounding;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.TokenFile;
import dev.magvit4j.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** {@code encode}, {@code decode} and {@code reconstruct}: the tokenizer on image files. */
final class TokenizerCommands {

    private TokenizerCommands() {}

    static final Set<String> VALUED = Set.of("checkpoint", "threads", "resolution", "batch", "out", "rounding", "device");
    static final Set<String> FLAGS = Set.of("no-crop", "live-weights");

    /** What every tokenizer command reads off its options. */
    private record Setup(Tokenizer tokenizer, Path checkpoint, Tokenizer.Weights weights, int batch, int resolution, boolean crop) {
        /** The image as the model sees it: the reference's resize and center crop, or as is when its size fits. */
        Tensor prepare(ImageInputs.Input in) throws IOException {
            Tensor image = Images.read(in.file());
            try {
                return crop ? Images.resizeShorterSideAndCenterCrop(image, resolution) : Images.checkSize(image, tokenizer.config.downsampling());
            } catch (IllegalArgumentException e) {
                throw new CliException(in.file() + ": " + e.getMessage());
            }
        }
    }

    private static Setup setup(Args a, Tokenizer.Parts parts) throws IOException {
        Main.threads(a);
        String ckpt = a.get("checkpoint", null);
        if (ckpt == null) throw new CliException("--checkpoint FILE is required (an Open-MAGVIT2 tokenizer .ckpt, or a .safetensors written by magvit4j)");
        Tokenizer.Weights weights = a.flag("live-weights") ? Tokenizer.Weights.LIVE : Tokenizer.Weights.EMA_IF_PRESENT;
        Device device = Main.device(a);
        Tokenizer tok = Tokenizer.load(Path.of(ckpt), weights, parts).to(device);
        int f = tok.config.downsampling();
        // Native size: a 16 x 16 token grid (128 px for the 128 model, 256 px for the 256 model).
        int resolution = a.getInt("resolution", 16 * f);
        if (resolution <= 0 || resolution % f != 0 || resolution / f < 2) {
            throw new CliException("--resolution " + resolution + " must be a positive multiple of the tokenizer's downsampling factor " + f + " (at least " + 2 * f + ")");
        }
        int batch = a.getInt("batch", 8);
        if (batch < 1) throw new CliException("--batch must be at least 1, got " + batch);
        return new Setup(tok, Path.of(ckpt), weights, batch, resolution, !a.flag("no-crop"));
    }

    /** Images, in batches of one size (a new batch starts when the size changes). */
    private interface BatchSink {
        void accept(List<ImageInputs.Input> inputs, Tensor images) throws IOException;
    }

    private static void inBatches(Setup s, List<ImageInputs.Input> inputs, Progress progress, BatchSink sink) throws IOException {
        List<ImageInputs.Input> pending = new ArrayList<>();
        List<Tensor> images = new ArrayList<>();
        for (ImageInputs.Input in : inputs) {
            Tensor img = s.prepare(in);
            if (!images.isEmpty() && (!java.util.Arrays.equals(images.get(0).shapeRef(), img.shapeRef()) || images.size() == s.batch)) {
                sink.accept(pending, Images.batch(images));
                progress.advance(images.size());
                pending = new ArrayList<>();
                images = new ArrayList<>();
            }
            pending.add(in);
            images.add(img);
        }
        if (!images.isEmpty()) {
            sink.accept(pending, Images.batch(images));
            progress.advance(images.size());
        }
    }

    // ------------------------------------------------------------------ encode

    static int encode(Args a) throws IOException {
        Setup s = setup(a, Tokenizer.Parts.ENCODER);
        List<ImageInputs.Input> inputs = ImageInputs.list(a.positional);
        Path out = Path.of(a.get("out", "tokens.safetensors"));
        List<Tensor> indices = new ArrayList<>(), pre = new ArrayList<>(), post = new ArrayList<>();
        List<String> names = new ArrayList<>();
        int[] imageSize = new int[2];
        long t0 = System.nanoTime();
        try (Progress progress = new Progress("encode", inputs.size(), "img")) {
            inBatches(s, inputs, progress, (batch, images) -> {
                if (!names.isEmpty() && (images.size(2) != imageSize[0] || images.size(3) != imageSize[1])) {
                    throw new CliException(batch.get(0).file() + " is " + images.size(2) + "x" + images.size(3) + " but earlier images are "
                            + imageSize[0] + "x" + imageSize[1] + ": a token file holds one grid size; encode them separately or drop --no-crop");
                }
                imageSize[0] = images.size(2);
                imageSize[1] = images.size(3);
                Tokenizer.Tokens t = s.tokenizer.encode(images);
                indices.add(t.indices());
                pre.add(t.pre());
                post.add(t.post());
                for (ImageInputs.Input in : batch) names.add(in.name());
            });
        }
        Map<String, String> info = new LinkedHashMap<>();
        info.put("image_size", imageSize[0] + "x" + imageSize[1]);
        info.put("tokenizer", s.tokenizer.config.toString());
        info.put("checkpoint", s.checkpoint.getFileName().toString());
        info.put("weights", s.weights == Tokenizer.Weights.LIVE ? "live" : "ema");
        TokenFile file = new TokenFile(cat(indices), cat(pre), cat(post), names, info);
        file.write(out, s.tokenizer.quantize.bits, s.tokenizer.quantize.factorizedBits);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "encoded %d image(s) of %dx%d into %dx%d tokens each: %s (%.2f images/s)%n", names.size(), imageSize[0], imageSize[1],
                file.indices().size(1), file.indices().size(2), out, names.size() / seconds);
        return 0;
    }

    /** A released architecture with random weights, for benchmarks and trials without a download. */
    static int init(Args a) throws IOException {
        String preset = a.get("preset", null), out = a.get("out", null);
        if (preset == null || out == null) throw new CliException("init needs --preset 128|256|B|L|XL and --out FILE.safetensors");
        dev.magvit4j.tensor.Generator.global().manualSeed(a.getInt("seed", 0));
        if (!preset.equals("128") && !preset.equals("256")) {
            dev.magvit4j.ar.ArConfig config;
            try {
                config = dev.magvit4j.ar.ArConfig.preset(preset);
            } catch (IllegalArgumentException e) {
                throw new CliException("unknown preset '" + preset + "': use 128 or 256 (tokenizers) or B, L, XL (AR transformers)");
            }
            dev.magvit4j.ar.Transformer m = new dev.magvit4j.ar.Transformer(config, new dev.magvit4j.tensor.Generator(a.getInt("seed", 0)));
            m.save(Path.of(out));
            System.out.printf(Locale.ROOT, "wrote an AR %s transformer with the reference's initialisation (%d parameters; its heads start at zero) to %s%n",
                    preset.toUpperCase(Locale.ROOT), m.numParameters(), out);
            return 0;
        }
        Tokenizer tok = new Tokenizer(dev.magvit4j.tokenizer.TokenizerConfig.preset(preset));
        tok.save(Path.of(out));
        System.out.printf(Locale.ROOT, "wrote a %s tokenizer with random weights (%d parameters) to %s%n", preset, tok.numParameters(), out);
        return 0;
    }

    private static Tensor cat(List<Tensor> parts) {
        return dev.magvit4j.ops.Views.concat(parts, 0);
    }

    // ------------------------------------------------------------------ decode

    static int decode(Args a) throws IOException {
        if (a.positional.size() != 1) throw new CliException("decode takes one token file (made by ./magvit4j encode)");
        Setup s = setup(a, Tokenizer.Parts.DECODER);
        TokenFile file = TokenFile.read(Path.of(a.positional.get(0)));
        if (file.indices().size(1) * file.indices().size(2) < 2) throw new CliException("token grids of " + file.indices().size(1) + "x" + file.indices().size(2) + " cannot be decoded (the decoder needs at least 2 tokens)");
        Path dir = outputDir(a, "decoded");
        PixelRounding rounding = rounding(a);
        long t0 = System.nanoTime();
        try (Progress progress = new Progress("decode", file.count(), "img")) {
            for (int i0 = 0; i0 < file.count(); i0 += s.batch) {
                int i1 = Math.min(file.count(), i0 + s.batch);
                Tensor images = s.tokenizer.decode(file.indices().slice(0, i0, i1));
                for (int i = i0; i < i1; i++) {
                    Images.writePng(images.select(0, i - i0), dir.resolve(ImageInputs.outputName(file.names().get(i), ".png")), rounding);
                }
                progress.advance(i1 - i0);
            }
        }
        System.out.printf(Locale.ROOT, "decoded %d image(s) into %s (%.2f images/s)%n", file.count(), dir, file.count() / ((System.nanoTime() - t0) / 1e9));
        return 0;
    }

    // ------------------------------------------------------------------ reconstruct

    static int reconstruct(Args a) throws IOException {
        Setup s = setup(a, Tokenizer.Parts.BOTH);
        List<ImageInputs.Input> inputs = ImageInputs.list(a.positional);
        Path dir = outputDir(a, "reconstructed");
        PixelRounding rounding = rounding(a);
        double[] psnrSum = new double[1];
        int[] count = new int[1];
        long t0 = System.nanoTime();
        List<String> lines = new ArrayList<>();
        try (Progress progress = new Progress("reconstruct", inputs.size(), "img")) {
            inBatches(s, inputs, progress, (batch, images) -> {
                Tensor rec = s.tokenizer.reconstruct(images);
                for (int i = 0; i < batch.size(); i++) {
                    Tensor r = rec.select(0, i);
                    double psnr = Images.psnr(images.select(0, i), r);
                    Images.writePng(r, dir.resolve(ImageInputs.outputName(batch.get(i).name(), ".png")), rounding);
                    lines.add(String.format(Locale.ROOT, "%-40s PSNR %6.2f dB", batch.get(i).name(), psnr));
                    psnrSum[0] += psnr;
                    count[0]++;
                }
            });
        }
        lines.forEach(System.out::println);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "reconstructed %d image(s) into %s: mean PSNR %.2f dB, %.2f images/s%n", count[0], dir, psnrSum[0] / count[0], count[0] / seconds);
        return 0;
    }

    static Path outputDir(Args a, String fallback) throws IOException {
        Path dir = Path.of(a.get("out", fallback));
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new CliException("--out " + dir + " exists and is not a folder");
        Files.createDirectories(dir);
        return dir;
    }

    /** 8-bit conversion: the reference truncates (default, same bytes as its PNGs); nearest is exact for a read-write round trip. */
    static PixelRounding rounding(Args a) {
        return switch (a.get("rounding", "truncate")) {
            case "truncate" -> PixelRounding.TRUNCATE;
            case "nearest" -> PixelRounding.NEAREST;
            default -> throw new CliException("--rounding must be truncate (the reference's) or nearest");
        };
    }
}
