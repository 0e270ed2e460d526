package dev.magvit4j.io;

import dev.magvit4j.golden.Goldens;
import dev.magvit4j.io.TorchFixtures.PickleWriter;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;

import static dev.magvit4j.io.TorchFixtures.archive;
import static dev.magvit4j.io.TorchFixtures.contiguous;
import static dev.magvit4j.io.TorchFixtures.f32;
import static dev.magvit4j.io.TorchFixtures.le;
import static dev.magvit4j.io.TorchFixtures.longs;
import static dev.magvit4j.io.TorchFixtures.storedZip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {

    static Path golden(String name) throws Exception {
        return Goldens.load(name).path("model.ckpt");
    }

    static void assertSameTensor(String name, Tensor expected, Tensor actual) {
        assertNotNull(actual, name + " missing from the checkpoint");
        assertArrayEquals(expected.shape(), actual.shape(), name + ": shape");
        assertEquals(expected.dtype(), actual.dtype(), name + ": dtype");
        if (expected.dtype() == DType.FLOAT32) assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), name);
        else assertArrayEquals(expected.toLongArray(), actual.toLongArray(), name);
    }

    // ---------------------------------------------------------------- golden checkpoints

    @ParameterizedTest
    @ValueSource(strings = {"tokenizer", "ar"})
    void goldenCheckpointEqualsWeightsNpz(String name) throws Exception {
        Map<String, Tensor> expected = Goldens.load(name).npz("weights.npz");
        try (Checkpoint ckpt = Checkpoint.open(golden(name))) {
            Map<String, Tensor> sd = ckpt.stateDict();
            assertEquals(expected.keySet(), sd.keySet(), "state dict names");
            for (Map.Entry<String, Tensor> e : expected.entrySet()) assertSameTensor(e.getKey(), e.getValue(), sd.get(e.getKey()));
        }
    }

    @Test
    void goldenDiscriminatorRunningStats() throws Exception {
        Map<String, Tensor> expected = Goldens.load("discriminator").npz("running_stats_after.npz");
        try (Checkpoint ckpt = Checkpoint.open(golden("discriminator"))) {
            Map<String, Tensor> disc = ckpt.tensors("loss.discriminator");
            for (Map.Entry<String, Tensor> e : expected.entrySet()) assertSameTensor(e.getKey(), e.getValue(), disc.get(e.getKey()));
            Tensor tracked = disc.get("main.3.num_batches_tracked");
            assertEquals(DType.INT64, tracked.dtype());
            assertEquals(0, tracked.dim());
            assertEquals(Map.of("epoch", 3L, "global_step", 1234L), Map.of("epoch", ((Map<?, ?>) ckpt.root()).get("epoch"),
                    "global_step", ((Map<?, ?>) ckpt.root()).get("global_step")));
        }
    }

    @Test
    void goldenTokenizerLightningMetadataAndEma() throws Exception {
        try (Checkpoint ckpt = Checkpoint.open(golden("tokenizer"))) {
            assertEquals("model/", ckpt.prefix());
            Map<?, ?> root = assertInstanceOf(Map.class, ckpt.root());
            assertInstanceOf(Long.class, root.get("epoch"));
            assertInstanceOf(Long.class, root.get("global_step"));
            assertEquals("2.2.0", root.get("pytorch-lightning_version"));
            Map<?, ?> hp = (Map<?, ?>) root.get("hyper_parameters");
            assertEquals(1e-4, hp.get("learning_rate"));
            Map<?, ?> callbacks = (Map<?, ?>) root.get("callbacks");
            assertTrue(callbacks.keySet().iterator().next().toString().startsWith("ModelCheckpoint{"));
            assertEquals(List.of(), root.get("lr_schedulers"));

            Map<String, Checkpoint.TensorRef> refs = ckpt.stateDictRefs();
            assertEquals("torch.IntStorage", refs.get("model_ema.num_updates").storageType());
            Map<String, Tensor> ema = ckpt.tensors("model_ema.");
            assertEquals(DType.INT32, ema.get("num_updates").dtype());
            assertEquals(DType.FLOAT32, ema.get("decay").dtype());
            Map<String, Tensor> encoder = ckpt.tensors("encoder");
            Tensor convIn = encoder.get("conv_in.weight");
            assertNotNull(convIn);
            assertFalse(encoder.keySet().stream().anyMatch(k -> k.startsWith("encoder.")));
            assertSameTensor("model_ema.encoderconv_inweight", ema.get("encoderconv_inweight"), ckpt.stateDict().get("model_ema.encoderconv_inweight"));
        }
    }

    @Test
    void tensorsCannotBeReadAfterClose() throws Exception {
        Checkpoint.TensorRef ref;
        try (Checkpoint ckpt = Checkpoint.open(golden("discriminator"))) {
            ref = ckpt.stateDictRefs().values().iterator().next();
            ref.load();
        }
        assertThrows(IllegalStateException.class, ref::load);
    }

    // ---------------------------------------------------------------- hand-built checkpoints

    /** A Lightning-style root {'epoch': 7, 'state_dict': OrderedDict(items written by body)}. */
    static byte[] lightning(java.util.function.Consumer<PickleWriter> body) {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().mark().str("epoch").integer(7)
                .str("state_dict").global("collections", "OrderedDict").emptyTuple().reduce().mark();
        body.accept(w);
        return w.setitems().setitems().stop().bytes();
    }

    static Checkpoint build(byte[] pickle, Map<String, byte[]> storages) throws Exception {
        return Checkpoint.read(storedZip(archive("archive", pickle, storages)), "test.ckpt");
    }

    @Test
    void storageTypesConvert() throws Exception {
        byte[] pkl = lightning(w -> {
            w.str("half").tensor("HalfStorage", "h", 3, 0, longs(3), longs(1));
            w.str("bf16").tensor("BFloat16Storage", "b", 3, 0, longs(3), longs(1));
            w.str("double").tensor("DoubleStorage", "d", 2, 0, longs(2), longs(1));
            w.str("long").tensor("LongStorage", "l", 2, 0, longs(2), longs(1));
            w.str("int").tensor("IntStorage", "i", 2, 0, longs(2), longs(1));
            w.str("short").tensor("ShortStorage", "s", 2, 0, longs(2), longs(1));
            w.str("char").tensor("CharStorage", "c", 2, 0, longs(2), longs(1));
            w.str("byte").tensor("ByteStorage", "u", 3, 0, longs(3), longs(1));
            w.str("bool").tensor("BoolStorage", "t", 3, 0, longs(3), longs(1));
            w.str("untyped").tensor("UntypedStorage", "r", 2, 0, longs(2), longs(1));
            w.str("float").tensor("FloatStorage", "f", 2, 0, longs(2), longs(1));
        });
        Map<String, byte[]> st = new LinkedHashMap<>();
        st.put("h", le(2, 0x3C00, 0xC000, 0x3800));
        st.put("b", le(2, 0x3F80, 0xC040, 0x3E20));
        st.put("d", le(8, Double.doubleToLongBits(1e-3), Double.doubleToLongBits(-1e10)));
        st.put("l", le(8, -1, 1L << 40));
        st.put("i", le(4, 7, -8));
        st.put("s", le(2, -300, 300));
        st.put("c", le(1, -1, 5));
        st.put("u", le(1, 0, 200, 255));
        st.put("t", le(1, 0, 1, 2));
        st.put("r", le(1, 128, 7));
        st.put("f", f32(1.5f, Float.NaN));
        try (Checkpoint ckpt = build(pkl, st)) {
            assertEquals(7L, ((Map<?, ?>) ckpt.root()).get("epoch"));
            Map<String, Tensor> sd = ckpt.stateDict();
            assertEquals(List.of("half", "bf16", "double", "long", "int", "short", "char", "byte", "bool", "untyped", "float"), List.copyOf(sd.keySet()));
            assertArrayEquals(new float[] {1f, -2f, 0.5f}, sd.get("half").toFloatArray());
            assertArrayEquals(new float[] {1f, -3f, 0.15625f}, sd.get("bf16").toFloatArray());
            assertArrayEquals(new float[] {1e-3f, -1e10f}, sd.get("double").toFloatArray());
            assertEquals(DType.INT64, sd.get("long").dtype());
            assertArrayEquals(new long[] {-1, 1L << 40}, sd.get("long").toLongArray());
            assertEquals(DType.INT32, sd.get("int").dtype());
            assertArrayEquals(new long[] {7, -8}, sd.get("int").toLongArray());
            assertArrayEquals(new long[] {-300, 300}, sd.get("short").toLongArray());
            assertArrayEquals(new long[] {-1, 5}, sd.get("char").toLongArray());
            assertEquals(DType.INT32, sd.get("byte").dtype());
            assertArrayEquals(new long[] {0, 200, 255}, sd.get("byte").toLongArray());
            assertEquals(DType.BOOL, sd.get("bool").dtype());
            assertArrayEquals(new long[] {0, 1, 1}, sd.get("bool").toLongArray());
            assertArrayEquals(new long[] {128, 7}, sd.get("untyped").toLongArray());
            float[] f = sd.get("float").toFloatArray();
            assertEquals(1.5f, f[0]);
            assertTrue(Float.isNaN(f[1]));
        }
    }

    @Test
    void stridesAndOffsetsAreHonoured() throws Exception {
        float[] v24 = new float[24];
        for (int i = 0; i < 24; i++) v24[i] = i;
        byte[] pkl = lightning(w -> {
            w.str("transposed").tensor("FloatStorage", "six", 6, 0, longs(3, 2), longs(1, 3));
            w.str("offset").tensor("FloatStorage", "six", 6, 2, longs(2, 2), longs(2, 1));
            w.str("every_other").tensor("FloatStorage", "six", 6, 1, longs(2), longs(2));
            w.str("permuted").tensor("FloatStorage", "big", 24, 0, longs(2, 3, 4), longs(1, 8, 2));
            w.str("expanded").tensor("FloatStorage", "six", 6, 4, longs(3), longs(0));
            w.str("scalar").tensor("FloatStorage", "six", 6, 5, longs(), longs());
            w.str("empty").tensor("FloatStorage", "six", 6, 0, longs(0, 5), longs(5, 1));
            w.str("param").global("torch._utils", "_rebuild_parameter").mark()
                    .tensor("FloatStorage", "six", 6, 0, longs(6), longs(1)).bool(true).global("collections", "OrderedDict").emptyTuple().reduce()
                    .tuple().reduce();
            w.str("subclass").global("torch._tensor", "_rebuild_from_type_v2").mark()
                    .global("torch._utils", "_rebuild_tensor_v2").global("torch.nn.parameter", "Parameter")
                    .tensorArgs("FloatStorage", "six", 6, 3, longs(2), longs(1)).emptyDict().tuple().reduce();
            w.str("_extra_state").integer(5);
        });
        Map<String, byte[]> st = new LinkedHashMap<>();
        st.put("six", f32(0, 1, 2, 3, 4, 5));
        st.put("big", f32(v24));
        try (Checkpoint ckpt = build(pkl, st)) {
            Map<String, Tensor> sd = ckpt.stateDict();
            assertFalse(sd.containsKey("_extra_state"), "non-tensor values are skipped");
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, sd.get("transposed").toFloatArray());
            assertArrayEquals(new int[] {3, 2}, sd.get("transposed").shape());
            assertArrayEquals(new float[] {2, 3, 4, 5}, sd.get("offset").toFloatArray());
            assertArrayEquals(new float[] {1, 3}, sd.get("every_other").toFloatArray());
            float[] p = sd.get("permuted").toFloatArray();
            for (int i = 0, n = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) assertEquals(i + 8 * j + 2 * k, p[n++]);
            assertArrayEquals(new float[] {4, 4, 4}, sd.get("expanded").toFloatArray());
            assertEquals(0, sd.get("scalar").dim());
            assertEquals(5f, sd.get("scalar").item());
            assertArrayEquals(new int[] {0, 5}, sd.get("empty").shape());
            assertTrue(ckpt.stateDictRefs().get("param").requiresGrad());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, sd.get("param").toFloatArray());
            assertArrayEquals(new float[] {3, 4}, sd.get("subclass").toFloatArray());
            assertArrayEquals(longs(1, 8, 2), ckpt.stateDictRefs().get("permuted").stride());
        }
    }

    @Test
    void unknownClassesStayOpaque() throws Exception {
        byte[] pkl = new PickleWriter().proto(2).emptyDict().mark()
                .str("weight").floats("0", 2)
                .str("hook").global("os", "system").mark().str("echo pwned").tuple().reduce()
                .str("model").global("my.module", "Net").emptyTuple().newobj().emptyDict().str("training").bool(true).setitem().build()
                .setitems().stop().bytes();
        try (Checkpoint ckpt = build(pkl, Map.of("0", f32(1, 2)))) {
            Map<?, ?> root = (Map<?, ?>) ckpt.root();
            Pickle.Opaque hook = assertInstanceOf(Pickle.Opaque.class, root.get("hook"));
            assertEquals("os.system", hook.qualifiedName());
            assertEquals(List.of("echo pwned"), hook.args());
            Pickle.Opaque model = assertInstanceOf(Pickle.Opaque.class, root.get("model"));
            assertEquals(Map.of("training", true), model.state());
            // a plain torch.save(state_dict): the root itself is the state dict; only tensors are kept
            assertEquals(List.of("weight"), List.copyOf(ckpt.stateDict().keySet()));
        }
    }

    @Test
    void zip64AndAlignedEntriesAsPyTorchWritesThem() throws Exception {
        byte[] pkl = lightning(w -> w.str("w").floats("0", 2, 2).str("b").floats("1", 3));
        Map<String, byte[]> st = new LinkedHashMap<>();
        st.put("0", f32(1, 2, 3, 4));
        st.put("1", f32(5, 6, 7));
        for (boolean zip64 : new boolean[] {false, true}) {
            byte[] file = TorchFixtures.rawZip(archive("archive", pkl, st), zip64, 64);
            try (Zip zip = Zip.of(MemorySegment.ofArray(file), "raw.zip")) {
                for (Zip.Entry e : zip.entries().values()) assertEquals(0, e.dataOffset() % 64, e.name() + " aligned");
            }
            try (Checkpoint ckpt = Checkpoint.read(file, "raw.ckpt")) {
                Map<String, Tensor> sd = ckpt.stateDict();
                assertArrayEquals(new float[] {1, 2, 3, 4}, sd.get("w").toFloatArray());
                assertArrayEquals(new float[] {5, 6, 7}, sd.get("b").toFloatArray());
            }
        }
    }

    @Test
    void deflatedEntriesAndOtherPrefixes() throws Exception {
        byte[] pkl = new PickleWriter().proto(2).global("collections", "OrderedDict").emptyTuple().reduce()
                .mark().str("w").floats("0", 3).setitems().stop().bytes();
        Map<String, byte[]> st = Map.of("0", f32(1, 2, 3));
        byte[] deflated = TorchFixtures.zip(archive("my_model", pkl, st), ZipEntry.DEFLATED);
        try (Checkpoint ckpt = Checkpoint.read(deflated, "deflated.ckpt")) {
            assertEquals("my_model/", ckpt.prefix());
            assertArrayEquals(new float[] {1, 2, 3}, ckpt.stateDict().get("w").toFloatArray());
        }
        Map<String, byte[]> top = new LinkedHashMap<>();
        top.put("data.pkl", pkl);
        top.put("data/0", f32(1, 2, 3));
        try (Checkpoint ckpt = Checkpoint.read(storedZip(top), "top.ckpt")) {
            assertEquals("", ckpt.prefix());
            assertArrayEquals(new float[] {1, 2, 3}, ckpt.tensors("").get("w").toFloatArray());
        }
    }

    @Test
    void memoisedTensorsAndSharedStorages() throws Exception {
        // the second entry reuses the first tensor through the memo, the third shares its storage
        byte[] pkl = lightning(w -> {
            w.str("a").floats("0", 4).put(200);
            w.str("b").get(200);
            w.str("c").tensor("FloatStorage", "0", 4, 1, longs(2), longs(1));
        });
        try (Checkpoint ckpt = build(pkl, Map.of("0", f32(1, 2, 3, 4)))) {
            Map<String, Tensor> sd = ckpt.stateDict();
            assertArrayEquals(sd.get("a").toFloatArray(), sd.get("b").toFloatArray());
            assertArrayEquals(new float[] {2, 3}, sd.get("c").toFloatArray());
        }
    }
}
