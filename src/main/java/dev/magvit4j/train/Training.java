package dev.magvit4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The training loop shared by both stages: steps, checkpoints every N steps (the last K kept),
 * resume from the newest intact checkpoint, a metrics CSV, a progress line, and pictures and
 * plots at intervals. Layout of the output folder:
 *
 * <pre>
 * OUT/checkpoints/step-00000500.safetensors   training state (see {@link Checkpoints})
 * OUT/metrics.csv                             one row per step
 * OUT/plots/*.png                             loss curves and codebook usage
 * OUT/pictures/*-step-00000500.png            reconstructions or samples
 * </pre>
 *
 * A resume must be the same run: the stage's settings and data description (its metadata) must
 * equal the checkpoint's. One process at a time trains into a folder ({@code OUT/.lock}).
 */
public final class Training {

    /**
     * @param steps           total steps of the run (a resumed run continues to the same total)
     * @param checkpointEvery steps between checkpoints (the last step always gets one)
     * @param keep            checkpoints kept
     * @param picturesEvery   steps between pictures and plots (0: only at the end)
     * @param resume          continue from the newest intact checkpoint in OUT/checkpoints, if any
     * @param log             where messages and the progress line go (null: silent)
     * @param live            redraw the progress line in place (a terminal) rather than print a line now and then
     */
    public record Options(Path out, long steps, long checkpointEvery, int keep, long picturesEvery, boolean resume, PrintStream log, boolean live) {
        public Options {
            if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
            if (checkpointEvery < 1) throw new IllegalArgumentException("--checkpoint-every must be at least 1, got " + checkpointEvery);
            if (keep < 1) throw new IllegalArgumentException("--keep must be at least 1, got " + keep);
            if (picturesEvery < 0) throw new IllegalArgumentException("--pictures-every must be >= 0, got " + picturesEvery);
        }
    }

    /** How a run ended: the step reached, where it started, updates skipped, seconds spent, the metrics. */
    public record Outcome(long step, long startStep, int skipped, double seconds, Metrics metrics) {}

    private Training() {}

    public static Outcome run(Stage stage, Options o) throws IOException {
        Files.createDirectories(o.out());
        try (FileChannel lockFile = FileChannel.open(o.out().resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = tryLock(lockFile)) {
            if (lock == null) throw new IOException("another training run is using " + o.out() + "; wait for it or choose another --out");
            return locked(stage, o);
        }
    }

    /** The folder's lock, or null when another run (in this process or another) holds it. */
    private static FileLock tryLock(FileChannel file) throws IOException {
        try {
            return file.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    private static Outcome locked(Stage stage, Options o) throws IOException {
        Checkpoints checkpoints = new Checkpoints(o.out().resolve("checkpoints"), o.keep(), msg -> say(o, msg));
        checkpoints.removeLeftovers();
        long start = 0;
        if (o.resume()) {
            Checkpoints.Saved saved = checkpoints.latest();
            if (saved != null) {
                checkSameRun(stage, saved);
                try {
                    stage.restore(saved.tensors());
                } catch (IllegalArgumentException e) {
                    throw new IOException(saved.file() + ": cannot resume from it: " + e.getMessage(), e);
                }
                start = saved.step();
                say(o, "resumed " + stage.name() + " training from " + saved.file() + " at step " + start);
            }
        }
        Metrics metrics = new Metrics(o.out().resolve("metrics.csv"), columns(stage), start);
        long t0 = System.nanoTime(), lastLine = t0;
        int skipped = 0;
        try {
            for (long step = start; step < o.steps(); step++) {
                long s0 = System.nanoTime();
                Stage.Result r = stage.step(step);
                double seconds = (System.nanoTime() - s0) / 1e9;
                long done = step + 1;
                if (r.skipped() != null) {
                    skipped++;
                    say(o, "step " + done + ": " + r.skipped() + "; update skipped, weights unchanged");
                }
                Map<String, Double> values = new LinkedHashMap<>(r.values());
                values.put("images_per_s", stage.batchSize() / seconds);
                metrics.add(done, values);
                long now = System.nanoTime();
                if ((o.live() ? now - lastLine > 100_000_000L : now - lastLine > 10_000_000_000L) || done == o.steps()) {
                    lastLine = now;
                    progress(o, stage, metrics, done, start, (now - t0) / 1e9);
                }
                if (done % o.checkpointEvery() == 0 || done == o.steps()) {
                    Map<String, String> meta = new LinkedHashMap<>(stage.metadata());
                    meta.put("format", "magvit4j-training");
                    meta.put("stage", stage.name());
                    checkpoints.save(done, stage.state(), meta);
                }
                if ((o.picturesEvery() > 0 && done % o.picturesEvery() == 0) || done == o.steps()) {
                    stage.pictures(o.out().resolve("pictures"), done);
                    stage.plots(metrics, o.out().resolve("plots"));
                }
            }
            if (start >= o.steps()) {     // nothing left to train: the outputs of the step reached
                say(o, o.out() + " already holds step " + start + " of " + stage.name() + " training (--steps " + o.steps() + ")");
                stage.pictures(o.out().resolve("pictures"), start);
                stage.plots(metrics, o.out().resolve("plots"));
            }
        } finally {
            metrics.close();
            if (o.live() && o.log() != null) o.log().println();
        }
        return new Outcome(Math.max(start, o.steps()), start, skipped, (System.nanoTime() - t0) / 1e9, metrics);
    }

    /** A resume continues the same run: the stage, its settings and its data must be those the checkpoint was made with. */
    private static void checkSameRun(Stage stage, Checkpoints.Saved saved) throws IOException {
        String kind = saved.metadata().get("stage");
        if (!stage.name().equals(kind)) {
            throw new IOException(saved.file() + " is a " + kind + " checkpoint, not a " + stage.name() + " one: use another --out folder");
        }
        for (Map.Entry<String, String> e : stage.metadata().entrySet()) {
            String was = saved.metadata().get(e.getKey());
            if (!e.getValue().equals(was)) {
                throw new IOException(saved.file() + " was made with " + e.getKey() + " '" + was + "' but this run has '" + e.getValue()
                        + "': resume with the same settings and data, or train into another --out folder");
            }
        }
    }

    private static List<String> columns(Stage stage) {
        List<String> c = new ArrayList<>(stage.columns());
        c.add("images_per_s");
        return c;
    }

    private static void progress(Training.Options o, Stage stage, Metrics m, long done, long start, double seconds) {
        if (o.log() == null) return;
        int width = 20, filled = (int) (width * done / o.steps());
        double rate = (done - start) / Math.max(seconds, 1e-9);
        long left = Math.round((o.steps() - done) / Math.max(rate, 1e-9));
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s [%s%s] %d/%d", stage.name(), "#".repeat(filled), ".".repeat(width - filled), done, o.steps()));
        for (String c : stage.shown()) {
            double v = m.recentMean(c, 20);
            if (!Double.isNaN(v)) line.append(String.format(Locale.ROOT, " %s %.4g", c, v)); // NaN: not measured yet (the discriminator before its start)
        }
        line.append(String.format(Locale.ROOT, "  %.1f img/s  ETA %d:%02d", rate * stage.batchSize(), left / 60, left % 60));
        if (o.live()) o.log().print("\r" + line + " ");
        else o.log().println(line);
        o.log().flush();
    }

    private static void say(Options o, String msg) {
        if (o.log() == null) return;
        if (o.live()) o.log().print("\r");
        o.log().println(msg);
    }
}
