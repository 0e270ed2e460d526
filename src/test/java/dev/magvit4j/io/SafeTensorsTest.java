package dev.magvit4j.io;

import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.magvit4j.io.HostileInputTest.fails;
import static dev.magvit4j.io.TorchFixtures.f32;
import static dev.magvit4j.io.TorchFixtures.le;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {

    @TempDir
    Path tmp;

    /** A safetensors file from a header and the data bytes. */
    static byte[] file(String json, byte[]... data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.writeBytes(h);
        for (byte[] d : data) out.writeBytes(d);
        return out.toByteArray();
    }

    static void rejects(byte[] file, String... fragments) {
        fails("bad.safetensors", () -> SafeTensors.read(file, "bad.safetensors"), fragments);
    }

    private List<Path> folder() throws Exception {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.sorted().toList();
        }
    }

    @Test
    void roundTripWithMetadata() throws Exception {
        Generator gen = new Generator(5);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("weight", Tensor.randn(gen, 2, 3));
        t.put("transposed", Tensor.randn(gen, 3, 4).transpose(0, 1));
        t.put("scalar", Tensor.scalar(-2.5f));
        t.put("empty", Tensor.zeros(0, 3));
        t.put("ids", Tensor.ofLongs(new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}));
        t.put("ints", Tensor.ofInts(new int[] {Integer.MIN_VALUE, 7, -7, Integer.MAX_VALUE}, 2, 2));
        t.put("mask", Tensor.ofBools(new boolean[] {true, false, true}));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "é \"quoted\" \\ \n\t\u0001 end");
        Path p = tmp.resolve("model.safetensors");
        SafeTensors.write(p, t, meta);
        assertEquals(List.of(p), folder(), "no temporary file is left behind");
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "data starts 8-byte aligned");

        SafeTensors.Contents c = SafeTensors.load(p);
        assertEquals(List.copyOf(t.keySet()), List.copyOf(c.tensors().keySet()));
        assertEquals(meta, c.metadata());
        assertEquals(meta, SafeTensors.metadata(p));
        for (Map.Entry<String, Tensor> e : t.entrySet()) {
            CheckpointTest.assertSameTensor(e.getKey(), e.getValue(), c.tensors().get(e.getKey()));
        }
        assertEquals(0, c.tensors().get("scalar").dim());

        // overwriting replaces the file atomically; no metadata means none is written
        SafeTensors.write(p, Map.of("only", Tensor.of(new float[] {1, 2})));
        SafeTensors.Contents c2 = SafeTensors.load(p);
        assertEquals(List.of("only"), List.copyOf(c2.tensors().keySet()));
        assertEquals(Map.of(), c2.metadata());
        assertEquals(List.of(p), folder());
    }

    @Test
    void readsOtherDtypes() throws Exception {
        String json = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
                + "\"u\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[16,18]},"
                + "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[18,20]},"
                + "\"i16\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[20,22]},"
                + "\"t\":{\"dtype\":\"BOOL\",\"shape\":[2,1],\"data_offsets\":[22,24]}}";
        byte[] f = file(json, le(2, 0x3C00, 0xBC00), le(2, 0x4040, 0x3F00), le(8, Double.doubleToLongBits(0.1)),
                le(1, 255, 1), le(1, -128, 127), le(2, -2), le(1, 0, 3));
        Map<String, Tensor> t = SafeTensors.read(f, "x").tensors();
        assertArrayEquals(new float[] {1, -1}, t.get("h").toFloatArray());
        assertArrayEquals(new float[] {3, 0.5f}, t.get("b").toFloatArray());
        assertArrayEquals(new float[] {0.1f}, t.get("d").toFloatArray());
        assertEquals(DType.INT32, t.get("u").dtype());
        assertArrayEquals(new long[] {255, 1}, t.get("u").toLongArray());
        assertArrayEquals(new long[] {-128, 127}, t.get("i8").toLongArray());
        assertArrayEquals(new long[] {-2}, t.get("i16").toLongArray());
        assertEquals(DType.BOOL, t.get("t").dtype());
        assertArrayEquals(new int[] {2, 1}, t.get("t").shape());
        assertArrayEquals(new long[] {0, 1}, t.get("t").toLongArray());
        // data order may differ from header order; padding spaces after the JSON are allowed
        byte[] g = file("{\"second\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"first\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}    ", f32(1, 2));
        Map<String, Tensor> u = SafeTensors.read(g, "x").tensors();
        assertEquals(List.of("second", "first"), List.copyOf(u.keySet()));
        assertEquals(2f, u.get("second").item());
    }

    @Test
    void strictHeaderValidation() {
        String one = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        rejects(new byte[5], "truncated");
        rejects(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array(), "header length 1099511627776 is not plausible");
        rejects(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1).array(), "not plausible");
        rejects(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array(), "header needs 100 bytes but the file has 8");
        rejects(file("{abc"), "not valid JSON");
        rejects(file("[]"), "does not start with '{'");
        rejects(file("{\"a\":\"x\"}"), "header entry is not a JSON object");
        byte[] badUtf8 = file("{\"a\":1}");
        badUtf8[10] = (byte) 0xff;
        rejects(badUtf8, "not valid UTF-8");
        rejects(file("{\"a\":" + "[".repeat(100_000)), "not valid JSON");
        rejects(file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", f32(1)), "tensor 'a'", "missing or non-string dtype");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", f32(1)), "unexpected header field 'x'");
        rejects(file("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]), "unsupported dtype 'C64'");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", f32(1)), "non-negative integers");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", f32(1)), "non-negative integers");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536],\"data_offsets\":[0,4]}}", f32(1)), "more than 2^31-1 elements");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", f32(1)), "needs 8 bytes but data_offsets give 4");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", f32(1)), "lie outside the 4 bytes of data");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", f32(1)), "lie outside");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", f32(1)), "data_offsets must be [begin, end]");
        rejects(file("{" + one + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", f32(1, 2, 3)), "tensor 'b' starts at byte 8", "(a gap)");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                f32(1, 2, 3)), "(an overlap)");
        rejects(file("{" + one + "}", f32(1, 2)), "the tensors cover 4 bytes of data but the file holds 8");
        rejects(file("{" + one + ",\"__metadata__\":{\"k\":1}}", f32(1)), "__metadata__ value of 'k' is not a string");
        rejects(file("{" + one + ",\"__metadata__\":[]}", f32(1)), "__metadata__ must be a JSON object");
        rejects(file("{\"a\":[1]}"), "header entry is not a JSON object");
        // every truncation of a valid file
        byte[] ok = file("{" + one + ",\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[4,20]}}", f32(1), le(8, 1, 2));
        for (int cut = 0; cut < ok.length; cut++) rejects(Arrays.copyOf(ok, cut));
    }

    @Test
    void filesThatCannotBeReadOrWritten() throws Exception {
        Path missing = tmp.resolve("missing.safetensors");
        fails(missing.toString(), () -> SafeTensors.read(missing), "no such file");
        // a failed write leaves the destination untouched and no temporary file
        Path dir = tmp.resolve("taken");
        Files.createDirectory(dir);
        Files.writeString(dir.resolve("keep.txt"), "keep");
        fails(dir.toString(), () -> SafeTensors.write(dir, Map.of("a", Tensor.of(new float[] {1}))), "cannot write");
        assertEquals("keep", Files.readString(dir.resolve("keep.txt")));
        assertEquals(List.of(dir), folder());
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(tmp.resolve("x.safetensors"), Map.of("__metadata__", Tensor.scalar(1))));
        assertEquals(List.of(dir), folder());
        assertTrue(Files.isDirectory(dir));
    }
}
