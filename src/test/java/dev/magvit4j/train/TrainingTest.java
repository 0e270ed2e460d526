package dev.magvit4j.train;

import dev.magvit4j.data.BuiltinImages;
import dev.magvit4j.data.Dataset;
import dev.magvit4j.data.Loader;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.Devices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both training stages on tiny configs: the loss falls, resume is bit-identical, damaged checkpoints are passed over, NaN never reaches the weights. */
class TrainingTest {

    @TempDir
    Path dir;

    static final BuiltinImages IMAGES = new BuiltinImages(7, 16, 32);

    /** A 16px tokenizer (ch 32, two levels: 8x8 tokens) and a small discriminator. */
    static TokenizerTraining.Recipe tokenizerRecipe(long discStart, float lr) {
        return tokenizerRecipe(discStart, lr, 4);
    }

    static TokenizerTraining.Recipe tokenizerRecipe(long discStart, float lr, int batch) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("ch", 32);
        s.put("ch_mult", List.of(1, 1));
        s.put("num_res_blocks", 1);
        s.put("image_size", 16);
        s.put("batch_size", batch);
        s.put("lr", lr);
        s.put("disc_channels", 8);
        s.put("disc_layers", 2);
        s.put("disc_start", discStart);
        s.put("workers", 2);
        return TokenizerTraining.Recipe.from(new Settings(s));
    }

    /** A 4x4-token AR model (dim 32, 2 heads, 1 + 1 layers) over 5 classes. */
    static ArTraining.Recipe arRecipe(long steps, float lr, float dropout) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("dim", 32);
        s.put("heads", 2);
        s.put("spatial_layers", 1);
        s.put("factorized_layers", 1);
        s.put("batch_size", 4);
        s.put("lr", lr);
        s.put("warmup_steps", 2);
        for (String k : List.of("token_drop", "resid_drop", "ffn_drop", "class_drop")) s.put(k, dropout);
        return ArTraining.Recipe.from(new Settings(s), 16, 5, steps);
    }

    /** 10 token grids of 4x4 with a pattern per class, so there is something to learn. */
    static TokenSet tokens() {
        int n = 10, t = 16;
        long[] pre = new long[n * t], post = new long[n * t], labels = new long[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 5;
            for (int j = 0; j < t; j++) {
                pre[i * t + j] = (labels[i] * 7 + j) % 64;
                post[i * t + j] = (labels[i] * 911 + j * 3 + (i / 5)) % 4096;
            }
        }
        return new TokenSet(Tensor.ofLongs(pre, n, t), Tensor.ofLongs(post, n, t), labels, List.of("a", "b", "c", "d", "e"));
    }

    static Training.Options options(Path out, long steps, long every, boolean resume) {
        return new Training.Options(out, steps, every, 10, 0, resume, null, false);
    }

    @Test
    void tokenizerStepsLowerTheReconstructionLoss() throws IOException {
        try (TokenizerTraining stage = new TokenizerTraining(tokenizerRecipe(1000, 1e-3f), IMAGES, IMAGES, null)) {
            Training.Outcome r = Training.run(stage, options(dir, 30, 30, false));
            double[] l1 = r.metrics().column("l1");
            double first = mean(l1, 0, 5), last = mean(l1, 25, 30);
            assertTrue(last < 0.9 * first, "L1 fell from " + first + " to " + last);
            assertTrue(Files.isRegularFile(dir.resolve("pictures/reconstructions-step-00000030.png")));
            assertTrue(Files.isRegularFile(dir.resolve("plots/tokenizer-loss.png")));
            assertEquals(31, Files.readAllLines(dir.resolve("metrics.csv")).size(), "header + one row per step");
        }
    }

    @Test
    void aStepOnTheCallersBatchIsTheStepOnTheLoadersBatch() throws IOException {
        TokenizerTraining.Recipe recipe = tokenizerRecipe(0, 1e-3f);
        Tensor batch;
        try (var loader = new Loader(IMAGES, recipe.batchSize(), recipe.imageSize(), true, recipe.seed(), 0, recipe.workers())) {
            batch = loader.next().images();
        }
        try (TokenizerTraining fromData = new TokenizerTraining(recipe, IMAGES, IMAGES, null);
             TokenizerTraining given = new TokenizerTraining(recipe, IMAGES, IMAGES, null)) {
            assertEquals(fromData.step(0).values(), given.step(0, batch).values());
            Map<String, Tensor> a = fromData.state(), b = given.state();
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) {
                if (!k.equals("data.position")) assertBitEqual(k, a.get(k), b.get(k)); // a caller's batch does not move the data
            }
            assertEquals(0, b.get("data.position").item());
            var e = assertThrows(IllegalArgumentException.class, () -> given.step(1, Tensor.zeros(2, 3, 15, 16)));
            assertTrue(e.getMessage().contains("multiples of 2") && e.getMessage().contains("[2, 3, 15, 16]"), e.getMessage());
        }
    }

    @Test
    void withLpipsThePerceptualTermIsInTheLossAndHasGradients() throws IOException {
        Map<String, Object> s = new LinkedHashMap<>(Map.of("ch", 32, "ch_mult", List.of(1, 1), "num_res_blocks", 1, "image_size", 32,
                "batch_size", 2, "disc_channels", 8, "disc_layers", 2, "workers", 1));
        BuiltinImages images = new BuiltinImages(3, 32, 4);
        dev.magvit4j.tokenizer.Lpips lpips = new dev.magvit4j.tokenizer.Lpips();   // random VGG weights: the wiring, not the values
        lpips.namedParameters().forEach((name, w) -> {
            if (name.startsWith("lin")) dev.magvit4j.nn.Init.constant(w, 0.05f);   // non-negative, as trained LPIPS weights are
        });
        try (TokenizerTraining stage = new TokenizerTraining(TokenizerTraining.Recipe.from(new Settings(s)), images, images, lpips)) {
            Training.Outcome r = Training.run(stage, options(dir, 2, 2, false));
            double[] p = r.metrics().column("perceptual"), loss = r.metrics().column("loss"), l1 = r.metrics().column("l1");
            assertTrue(p[0] > 0 && Double.isFinite(p[0]), "perceptual " + p[0]);
            assertTrue(loss[0] > l1[0] + 0.5 * p[0] - 1, "the total includes the perceptual term");
            for (Tensor w : lpips.parameters()) assertEquals(null, w.grad(), "LPIPS stays frozen");
        }
    }

    @Test
    void arStepsLowerTheLoss() throws IOException {
        try (ArTraining stage = new ArTraining(arRecipe(40, 3e-3f, 0f), tokens(), null)) {
            Training.Outcome r = Training.run(stage, options(dir, 40, 40, false));
            double[] loss = r.metrics().column("loss");
            assertEquals(Math.log(64) + Math.log(4096), loss[0], 1e-3, "zero-initialised heads start at the uniform loss");
            assertTrue(mean(loss, 35, 40) < 0.7 * loss[0], "loss fell from " + loss[0] + " to " + mean(loss, 35, 40));
        }
    }

    @Test
    void interruptedTokenizerRunResumesBitIdentically() throws IOException {
        Supplier<TokenizerTraining> stage = () -> new TokenizerTraining(tokenizerRecipe(1, 1e-3f), IMAGES, IMAGES, null);
        assertResumesBitIdentically(stage::get);
    }

    @Test
    void interruptedArRunResumesBitIdentically() throws IOException {
        assertResumesBitIdentically(() -> new ArTraining(arRecipe(6, 3e-3f, 0.1f), tokens(), null));
    }

    /**
     * Six steps straight through, against three steps, a "crash" that loses the step-3
     * checkpoint, and a fresh process resuming from step 2: the same weights, optimiser state,
     * averages, random state and metrics, to the bit.
     */
    private void assertResumesBitIdentically(Supplier<Stage> make) throws IOException {
        assertResumesBitIdentically(make, "");
    }

    private void assertResumesBitIdentically(Supplier<Stage> make, String prefix) throws IOException {
        Path straightDir = dir.resolve(prefix + "a"), resumedDir = dir.resolve(prefix + "b");
        Map<String, Tensor> straight;
        try (Stage s = make.get()) {
            Training.run(s, options(straightDir, 6, 2, true));
            straight = s.state();
        }
        try (Stage s = make.get()) {
            Training.run(s, options(resumedDir, 3, 2, true));
        }
        Files.delete(resumedDir.resolve("checkpoints/step-00000003.safetensors"));
        Map<String, Tensor> resumed;
        try (Stage s = make.get()) {
            Training.Outcome r = Training.run(s, options(resumedDir, 6, 2, true));
            assertEquals(2, r.startStep());
            resumed = s.state();
        }
        assertEquals(straight.keySet(), resumed.keySet());
        straight.forEach((k, v) -> assertBitEqual(k, v, resumed.get(k)));
        assertEquals(withoutTiming(straightDir.resolve("metrics.csv")), withoutTiming(resumedDir.resolve("metrics.csv")));
        // The final checkpoints agree too.
        Checkpoints.Saved a = Checkpoints.read(straightDir.resolve("checkpoints/step-00000006.safetensors"));
        Checkpoints.Saved b = Checkpoints.read(resumedDir.resolve("checkpoints/step-00000006.safetensors"));
        a.tensors().forEach((k, v) -> assertBitEqual(k, v, b.tensors().get(k)));
    }

    // ------------------------------------------------------------------ on the GPU

    /**
     * The same steps on the GPU and on the CPU: the weights start equal (initialised on the CPU
     * from the seed) and the dropout masks are the same (drawn on the CPU), so the losses agree
     * to float rounding (the devices sum in other orders). The AR model is compared over three
     * steps. The tokenizer over two (the forward, a full update of generator, discriminator and
     * EMA, and the forward after it): its entropy term has temperature 0.01, so near-tied latents
     * turn 1e-7 differences into 1e-3 differences of the gradient, which Adam then spreads (the
     * third step differs by 1e-3 with lr 1e-3, measured); that is the loss's conditioning, not
     * the device.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void bothStagesOnTheGpuFollowTheCpu(Device device) throws IOException {
        Devices.use(device);
        record Case(Function<Device, Stage> make, int steps) {}
        List<Case> cases = List.of(
                new Case(d -> new TokenizerTraining(tokenizerRecipe(1, 1e-3f), IMAGES, IMAGES, null, d), 2),
                new Case(d -> new ArTraining(arRecipe(3, 3e-3f, 0.1f), tokens(), null, d), 3));
        for (Case c : cases) {
            Training.Outcome cpu, gpu;
            List<String> columns;
            try (Stage s = c.make().apply(Device.CPU)) {
                cpu = Training.run(s, options(dir.resolve("cpu-" + s.name()), c.steps(), c.steps(), false));
                columns = s.columns();   // the stage's values, not the timings
            }
            try (Stage s = c.make().apply(device)) {
                gpu = Training.run(s, options(dir.resolve("gpu-" + s.name()), c.steps(), c.steps(), false));
            }
            for (String column : columns) {
                double[] want = cpu.metrics().column(column), got = gpu.metrics().column(column);
                assertEquals(c.steps(), got.length, column + ": one value per step");
                for (int i = 0; i < want.length; i++) {
                    String what = column + " at step " + (i + 1) + " on " + device;
                    if (Double.isNaN(want[i])) assertTrue(Double.isNaN(got[i]), what + ": not measured on the CPU, " + got[i] + " on the GPU");
                    else assertEquals(want[i], got[i], 1e-3 * Math.max(1, Math.abs(want[i])), what);
                }
            }
        }
    }

    /** GPU training is deterministic too (no float atomics): a resumed run ends bit-identical to a straight one. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void interruptedRunsOnTheGpuResumeBitIdentically(Device device) throws IOException {
        Devices.use(device);
        assertResumesBitIdentically(() -> new TokenizerTraining(tokenizerRecipe(1, 1e-3f, 2), IMAGES, IMAGES, null, device));
        assertResumesBitIdentically(() -> new ArTraining(arRecipe(6, 3e-3f, 0.1f), tokens(), null, device), "ar-");

        // A checkpoint written on the CPU resumes on the GPU, and the run goes on from there.
        Path out = dir.resolve("cpu-then-gpu");
        try (Stage s = new ArTraining(arRecipe(3, 3e-3f, 0.1f), tokens(), null)) {
            Training.run(s, options(out, 2, 2, true));
        }
        try (ArTraining s = new ArTraining(arRecipe(3, 3e-3f, 0.1f), tokens(), null, device)) {
            Training.Outcome r = Training.run(s, options(out, 3, 2, true));
            assertEquals(2, r.startStep());
            assertEquals(3, r.step());
            assertEquals(device, s.state().get("transformer.norm.weight").device());
        }
    }

    @Test
    void damagedCheckpointsArePassedOverForThePreviousOne() throws IOException {
        try (ArTraining s = new ArTraining(arRecipe(6, 3e-3f, 0.1f), tokens(), null)) {
            Training.run(s, options(dir, 6, 2, true));
        }
        List<String> warnings = new ArrayList<>();
        Checkpoints ck = new Checkpoints(dir.resolve("checkpoints"), 10, warnings::add);
        assertEquals(List.of(2L, 4L, 6L), ck.list().stream().map(Checkpoints::stepOf).toList());
        // Step 6: one byte flipped in the middle (the tensors); step 4: cut short.
        Path six = dir.resolve("checkpoints/step-00000006.safetensors"), four = dir.resolve("checkpoints/step-00000004.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(six.toFile(), "rw")) {
            long at = f.length() / 2;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
        try (RandomAccessFile f = new RandomAccessFile(four.toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        Checkpoints.Saved saved = ck.latest();
        assertNotNull(saved);
        assertEquals(2, saved.step());
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("step-00000006") && warnings.get(0).contains("checksum"), warnings.get(0));
        assertTrue(warnings.get(1).contains("step-00000004"), warnings.get(1));
        assertTrue(Files.isRegularFile(dir.resolve("checkpoints/step-00000006.safetensors.damaged")), "kept aside for inspection");
        try (ArTraining s = new ArTraining(arRecipe(6, 3e-3f, 0.1f), tokens(), null)) {
            assertEquals(2, Training.run(s, options(dir, 6, 2, true)).startStep());
        }
        assertEquals(6, Checkpoints.read(six).step(), "the resumed run wrote an intact step 6");
        assertThrows(IOException.class, () -> Checkpoints.read(dir.resolve("checkpoints/step-00000006.safetensors.damaged")));
    }

    @Test
    void pruningKeepsTheNewestAndNeverTheStaleHigherNumberedOnes() throws IOException {
        List<String> warnings = new ArrayList<>();
        Checkpoints ck = new Checkpoints(dir, 1, warnings::add);
        Map<String, Tensor> t = Map.of("w", Tensor.of(new float[] {1, 2}, 2));
        ck.save(2, t, Map.of());
        ck.save(4, t, Map.of());
        assertEquals(List.of(4L), ck.list().stream().map(Checkpoints::stepOf).toList(), "keep 1");
        Files.writeString(dir.resolve("step-00000004.safetensors"), "garbage");
        Files.writeString(dir.resolve(".step-00000005.safetensors.123.tmp"), "left by a kill");
        assertEquals(null, ck.latest(), "no intact checkpoint: a fresh start");
        ck.removeLeftovers();
        ck.save(3, t, Map.of());                  // the run starts over; step 3 must survive
        assertEquals(List.of(3L), ck.list().stream().map(Checkpoints::stepOf).toList());
        assertEquals(3, ck.latest().step());
        assertTrue(Files.notExists(dir.resolve(".step-00000005.safetensors.123.tmp")));
    }

    @Test
    void aResumeWithOtherSettingsOrAnotherStageIsRefused() throws IOException {
        try (ArTraining s = new ArTraining(arRecipe(4, 3e-3f, 0.1f), tokens(), null)) {
            Training.run(s, options(dir, 2, 1, true));
        }
        try (ArTraining s = new ArTraining(arRecipe(4, 1e-3f, 0.1f), tokens(), null)) {
            IOException e = assertThrows(IOException.class, () -> Training.run(s, options(dir, 4, 1, true)));
            assertTrue(e.getMessage().contains("recipe") && e.getMessage().contains("another --out"), e.getMessage());
        }
        try (TokenizerTraining s = new TokenizerTraining(tokenizerRecipe(0, 1e-3f), IMAGES, IMAGES, null)) {
            IOException e = assertThrows(IOException.class, () -> Training.run(s, options(dir, 4, 1, true)));
            assertTrue(e.getMessage().contains("is a ar checkpoint"), e.getMessage());
        }
        // Asking for no more steps than done: no training, the pictures and plots of the step reached.
        try (ArTraining s = new ArTraining(arRecipe(4, 3e-3f, 0.1f), tokens(), null)) {
            assertEquals(2, Training.run(s, options(dir, 2, 1, true)).startStep());
        }
    }

    @Test
    void nonFiniteLossSkipsTheUpdateAndNeverReachesTheWeights() throws IOException {
        Dataset poisoned = new Dataset() {
            public int size() { return 8; }
            public int numClasses() { return 1; }
            public String className(int c) { return "nan"; }
            public int label(int index) { return 0; }
            public String name(int index) { return "nan/" + index; }
            public Tensor image(int index) {
                Tensor t = IMAGES.image(index);
                float[] d = t.toFloatArray();
                d[5] = Float.NaN;
                return Tensor.of(d, t.shape());
            }
        };
        try (TokenizerTraining stage = new TokenizerTraining(tokenizerRecipe(0, 1e-3f), poisoned, IMAGES, null)) {
            Map<String, Tensor> before = copy(stage.state());
            Training.Outcome r = Training.run(stage, options(dir, 3, 3, false));
            assertEquals(3, r.skipped());
            Map<String, Tensor> after = stage.state();
            for (String k : stage.model.stateDict().keySet()) assertBitEqual(k, before.get(k), after.get(k));
            for (String k : stage.discriminator.stateDict().keySet()) {      // BatchNorm statistics included
                assertBitEqual(k, before.get("loss.discriminator." + k), after.get("loss.discriminator." + k));
            }
            assertBitEqual("lecam", before.get("loss.lecam_ema"), after.get("loss.lecam_ema"));
            assertBitEqual("ema updates", before.get("model_ema.num_updates"), after.get("model_ema.num_updates"));
        }
    }

    @Test
    void settingsRejectUnknownNamesAndBadValues() {
        Settings s = new Settings(Map.of("batch_size", 4, "bach_size", 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            TokenizerTraining.Recipe.from(s);
            s.checkAllUsed("tokenizer training");
        });
        assertTrue(e.getMessage().contains("bach_size"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TokenizerTraining.Recipe.from(new Settings(Map.of("lr", "fast"))));
        assertThrows(IllegalArgumentException.class, () -> TokenizerTraining.Recipe.from(new Settings(Map.of("image_size", 100))));
    }

    @Test
    void configFileWithFlagsOnTop() throws IOException {
        Path json = dir.resolve("c.json");
        Files.writeString(json, "{\"batch_size\": 6, \"lr\": 0.001, \"ch_mult\": [1, 2]}");
        Settings s = Settings.load(json, Map.of("batch-size", "3"));
        TokenizerTraining.Recipe r = TokenizerTraining.Recipe.from(s);
        s.checkAllUsed("tokenizer training");
        assertEquals(3, r.batchSize());
        assertEquals(1e-3f, r.lr());
        assertArrayEquals(new int[] {1, 2}, r.model().chMult());
        assertEquals(0.5f, r.beta1(), "the released recipe where nothing is said");
    }

    @Test
    void schedules() {
        Schedule drops = Schedule.drops(1f, new long[] {10, 20}, 0.1f);
        assertEquals(1f, drops.lr(9));
        assertEquals(0.1f, drops.lr(10), 1e-7);
        assertEquals(0.01f, drops.lr(25), 1e-8);
        Schedule cos = Schedule.warmupCosine(1f, 4, 14, 0.1f);
        assertEquals(0.25f, cos.lr(0));
        assertEquals(1f, cos.lr(4), 1e-6);
        assertEquals(0.55f, cos.lr(9), 1e-6);
        assertEquals(0.1f, cos.lr(14), 1e-6);
        assertEquals(0.1f, cos.lr(100), 1e-6);
    }

    @Test
    void metricsOfAResumedRunDropStepsAfterTheCheckpoint() throws IOException {
        Path csv = dir.resolve("m.csv");
        try (Metrics m = new Metrics(csv, List.of("loss"), 0)) {
            for (int s = 1; s <= 5; s++) m.add(s, Map.of("loss", (double) s));
        }
        try (Metrics m = new Metrics(csv, List.of("loss"), 3)) {
            assertArrayEquals(new double[] {1, 2, 3}, m.column("loss"));
            m.add(4, Map.of("loss", 40.0));
        }
        assertEquals(List.of("step,loss", "1,1.00000", "2,2.00000", "3,3.00000", "4,40.0000"), Files.readAllLines(csv));
    }

    private static List<String> withoutTiming(Path csv) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(csv)) out.add(line.substring(0, line.lastIndexOf(',')));
        return out;
    }

    private static Map<String, Tensor> copy(Map<String, Tensor> s) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        s.forEach((k, v) -> out.put(k, v.copy()));
        return out;
    }

    static void assertBitEqual(String name, Tensor a, Tensor b) {
        assertNotNull(b, name + " missing");
        assertEquals(a.dtype(), b.dtype(), name);
        assertArrayEquals(a.shapeRef(), b.shapeRef(), name);
        if (a.dtype() == dev.magvit4j.tensor.DType.FLOAT32) {
            float[] x = a.toFloatArray(), y = b.toFloatArray();
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                    throw new AssertionError(name + "[" + i + "]: " + x[i] + " vs " + y[i]);
                }
            }
        } else {
            assertArrayEquals(a.toLongArray(), b.toLongArray(), name);
        }
    }

    private static double mean(double[] v, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += v[i];
        return s / (to - from);
    }
}
