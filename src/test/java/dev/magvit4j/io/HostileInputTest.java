package dev.magvit4j.io;

import dev.magvit4j.io.TorchFixtures.PickleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static dev.magvit4j.io.TorchFixtures.archive;
import static dev.magvit4j.io.TorchFixtures.f32;
import static dev.magvit4j.io.TorchFixtures.longs;
import static dev.magvit4j.io.TorchFixtures.storedZip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Malformed and hostile files: each must raise a {@link CheckpointException} with a one-line
 * message that names the file and the problem, quickly, and never any other exception (no
 * NullPointerException, IndexOutOfBounds, OutOfMemoryError or StackOverflowError).
 */
class HostileInputTest {

    @TempDir
    Path tmp;

    /** Runs something that must fail with a CheckpointException whose message starts with source and holds each fragment. */
    static CheckpointException fails(String source, Executable run, String... fragments) {
        Throwable thrown = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try {
                run.execute();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        if (!(thrown instanceof CheckpointException e)) {
            throw new AssertionError("expected a CheckpointException" + (fragments.length > 0 ? " with '" + fragments[0] + "'" : "")
                    + ", got " + (thrown == null ? "none" : thrown), thrown);
        }
        String m = e.getMessage();
        assertFalse(m.contains("\n"), "message is one line: " + m);
        assertTrue(m.startsWith(source + ": "), "message names the file: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "message '" + m + "' lacks '" + f + "'");
        return e;
    }

    /** Reads a checkpoint from bytes and its state dict: must fail. */
    static CheckpointException rejects(byte[] file, String... fragments) {
        return fails("bad.ckpt", () -> {
            try (Checkpoint c = Checkpoint.read(file, "bad.ckpt")) {
                c.stateDict();
            }
        }, fragments);
    }

    static CheckpointException rejectsPickle(byte[] pickle, String... fragments) {
        return fails("p.pkl", () -> Pickle.load(MemorySegment.ofArray(pickle), "p.pkl", null), fragments);
    }

    static byte[] bytes(String latin1) {
        return latin1.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] checkpoint(Consumer<PickleWriter> stateDict, Map<String, byte[]> storages) {
        return storedZip(archive("archive", CheckpointTest.lightning(stateDict), storages));
    }

    static byte[] golden() throws Exception {
        return Files.readAllBytes(CheckpointTest.golden("discriminator"));
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---------------------------------------------------------------- files and zip structure

    @Test
    void truncatedAtManyCutPoints() throws Exception {
        byte[] full = golden();
        List<Integer> cuts = new ArrayList<>();
        for (int c = 0; c < full.length; c += 211) cuts.add(c);
        for (int c = Math.max(0, full.length - 300); c < full.length; c++) cuts.add(c);
        for (int cut : cuts) rejects(Arrays.copyOf(full, cut));
        // through the memory-mapped path too
        Path p = tmp.resolve("cut.ckpt");
        for (int cut : new int[] {0, 10, full.length / 2, full.length - 23, full.length - 1}) {
            Files.write(p, Arrays.copyOf(full, cut));
            fails(p.toString(), () -> Checkpoint.open(p).close());
        }
    }

    @Test
    void wrongMagicAndNotAZip() throws Exception {
        byte[] b = golden();
        b[0] = 'X';
        rejects(b, "no local header for zip entry");
        rejects(new byte[0], "too short");
        rejects(bytes("this is a text file, not a checkpoint, but long enough to search"), "not a zip archive");
        Path legacy = tmp.resolve("legacy.pt");
        Files.write(legacy, new PickleWriter().proto(2).integer(1).stop().bytes());
        fails(legacy.toString(), () -> Checkpoint.open(legacy), "legacy (pre-1.6, non-zip) torch.save format");
        fails(tmp.resolve("missing.ckpt").toString(), () -> Checkpoint.open(tmp.resolve("missing.ckpt")), "no such file");
        fails(tmp.toString(), () -> Checkpoint.open(tmp), "is a directory");
    }

    @Test
    void corruptCentralDirectory() throws Exception {
        // The goldens end like PyTorch's files: a ZIP64 end record and locator before the classic end record.
        byte[] g = golden();
        int eocd = g.length - 22;
        int rec = (int) le(g).getLong(eocd - 20 + 8);
        assertEquals(0x06064b50, le(g).getInt(rec), "the golden has a zip64 end record");
        int cd = (int) le(g).getLong(rec + 48);
        int firstNameLen = le(g).getShort(cd + 28);

        byte[] b = g.clone();
        le(b).putLong(rec + 48, 0x7fff0000L);
        rejects(b, "truncated: zip central directory ends at byte", "but the file has");
        b = g.clone();
        le(b).putLong(rec + 32, 0xffffL);
        rejects(b, "cannot fit in a central directory");
        b = g.clone();
        le(b).putInt(rec + 16, 1);
        rejects(b, "multi-disk");
        // the same fields of a classic (non-zip64) end record
        byte[] plain = storedZip(archive("archive", CheckpointTest.lightning(w -> { }), Map.of()));
        int pe = plain.length - 22;
        b = plain.clone();
        le(b).putInt(pe + 16, 0x7fff0000);
        rejects(b, "truncated: zip central directory ends at byte", "but the file has");
        b = plain.clone();
        le(b).putShort(pe + 10, (short) 0xffff);
        rejects(b, "cannot fit in a central directory");
        b = plain.clone();
        le(b).putShort(pe + 4, (short) 1);
        rejects(b, "multi-disk");

        b = g.clone();
        b[cd] = 'Q';
        rejects(b, "no zip central directory entry at byte " + cd);
        b = g.clone();
        le(b).putInt(cd + 42, cd + 5); // local header offset past the central directory
        rejects(b, "lies past the central directory");
        b = g.clone();
        le(b).putInt(cd + 42, 7); // local header offset inside another entry
        rejects(b, "no local header for zip entry");
        b = g.clone();
        le(b).putShort(cd + 28, (short) 0xfff0); // name length past the end
        rejects(b, "runs past its end");
        b = g.clone();
        le(b).putShort(cd + 8, (short) 1); // encrypted
        rejects(b, "encrypted");
        b = g.clone();
        le(b).putShort(cd + 10, (short) 99); // unknown compression of data.pkl
        rejects(b, "compression method 99");
        b = g.clone();
        le(b).putInt(cd + 16, le(b).getInt(cd + 16) ^ 1); // CRC of data.pkl
        rejects(b, "CRC-32");
        b = g.clone();
        le(b).putInt(cd + 20, le(b).getInt(cd + 20) + 1); // stored sizes disagree
        rejects(b, "stored zip entry");
        b = g.clone();
        le(b).putInt(cd + 24, 0x7ffffff0);
        le(b).putInt(cd + 20, 0x7ffffff0); // data runs into the central directory
        rejects(b, "truncated: data of zip entry");
        // the name in the local header differs from the central directory's
        b = g.clone();
        b[30 + firstNameLen - 1] ^= 0x20;
        rejects(b, "does not name zip entry");
        // a zip64 locator that points nowhere
        byte[] z = TorchFixtures.rawZip(archive("archive", CheckpointTest.lightning(w -> { }), Map.of()), true, 64);
        int loc = z.length - 22 - 20;
        le(z).putLong(loc + 8, 3);
        rejects(z, "no zip64 end-of-central-directory record");
        le(z).putLong(loc + 8, Long.MAX_VALUE);
        rejects(z, "zip64 end record");
        // zip64 markers without the extra field
        byte[] z2 = TorchFixtures.rawZip(archive("archive", CheckpointTest.lightning(w -> { }), Map.of()), true, 64);
        ByteBuffer zb = le(z2);
        int rec2 = (int) zb.getLong(z2.length - 22 - 20 + 8);
        int cd2 = (int) zb.getLong(rec2 + 48);
        zb.putShort(cd2 + 46 + zb.getShort(cd2 + 28), (short) 0x7777); // rename the zip64 extra's id
        rejects(z2, "lacks the zip64 sizes");
        // a bomb-like deflated entry that claims 2 GB
        Map<String, byte[]> entries = archive("archive", CheckpointTest.lightning(w -> { }), Map.of());
        byte[] d = TorchFixtures.zip(entries, java.util.zip.ZipEntry.DEFLATED);
        int eocd3 = d.length - 22;
        int cd3 = le(d).getInt(eocd3 + 16);
        le(d).putInt(cd3 + 24, 0x7ff00000);
        rejects(d, "claims");
    }

    @Test
    void archiveLayoutProblems() throws Exception {
        byte[] pkl = CheckpointTest.lightning(w -> { });
        Map<String, byte[]> none = new LinkedHashMap<>();
        none.put("archive/other.pkl", pkl);
        rejects(storedZip(none), "no <name>/data.pkl entry");
        Map<String, byte[]> two = new LinkedHashMap<>();
        two.put("a/data.pkl", pkl);
        two.put("b/data.pkl", pkl);
        rejects(storedZip(two), "ambiguous");
        Map<String, byte[]> big = archive("archive", pkl, Map.of());
        big.put("archive/byteorder", bytes("big"));
        rejects(storedZip(big), "big-endian");
        Map<String, byte[]> dup = new LinkedHashMap<>();
        dup.put("archive/data.pkl", pkl);
        dup.put("archive/data.pk!", pkl);
        byte[] d = storedZip(dup);
        byte[] needle = bytes("archive/data.pk!");
        outer:
        for (int i = 0; i <= d.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (d[i + j] != needle[j]) continue outer;
            d[i + 15] = 'l'; // in the local header and in the central directory
        }
        rejects(d, "appears twice");
    }

    // ---------------------------------------------------------------- pickle opcodes out of place

    @Test
    void pickleOpcodesOutOfPlace() {
        rejectsPickle(bytes("](K\u0001K\u0002u."), "SETITEMS at byte 6", "not a dict");
        rejectsPickle(bytes("}K\u0001a."), "APPEND at byte 3", "not a list");
        rejectsPickle(bytes("K\u0001K\u0002t."), "TUPLE at byte 4", "no MARK");
        rejectsPickle(bytes("K\u0001K\u0002."), "STOP at byte 4", "2 items on the stack");
        rejectsPickle(bytes("(K\u0001."), "STOP", "unclosed MARK");
        rejectsPickle(bytes("\u00ff"), "unknown pickle opcode 0xff at byte 0");
        rejectsPickle(bytes("h\u0005."), "BINGET at byte 0", "memo key 5 is missing");
        rejectsPickle(bytes("j\u00ff\u00ff\u00ff\u00ff."), "memo key 4294967295 is missing");
        rejectsPickle(bytes("K\u0001)R."), "REDUCE at byte 3", "not a class or function");
        rejectsPickle(bytes("cos\nsystem\n]R."), "REDUCE", "not a tuple");
        rejectsPickle(bytes("K\u0001K\u0002\u0093."), "STACK_GLOBAL", "must be strings");
        rejectsPickle(bytes("K\u0001}b."), "BUILD", "BUILD on an int");
        rejectsPickle(bytes("cmod\nCls\n}b."), "BUILD on the class mod.Cls");
        rejectsPickle(bytes("}(K\u0001u."), "odd number of items");
        rejectsPickle(bytes("0"), "POP at byte 0", "stack is empty");
        rejectsPickle(bytes("2"), "DUP", "stack is empty");
        rejectsPickle(bytes("](K\u0001a."), "APPEND", "empty above the last MARK");
        rejectsPickle(bytes("X\u0010\u0000\u0000\u0000ab"), "BINUNICODE at byte 0", "truncated");
        rejectsPickle(bytes("K\u0001"), "without a STOP");
        rejectsPickle(bytes("\u0080\u0006"), "unsupported pickle protocol 6");
        rejectsPickle(bytes("\u0082\u0001."), "extension codes");
        rejectsPickle(bytes("\u0097."), "out-of-band buffers");
        rejectsPickle(bytes("}]K\u0001s."), "unhashable dict key a list");
        rejectsPickle(bytes("}K\u0001\u0085\u0085K\u0001s."), "nested tuple");
        rejectsPickle(bytes("(K\u0001\u0085\u0085K\u0001d."), "DICT", "nested tuple");
        rejectsPickle(bytes("K\u0001Q."), "BINPERSID", "persistent id");
        rejectsPickle(bytes("I12a\n."), "INT", "invalid integer literal");
        rejectsPickle(bytes("F1.5d\n."), "invalid float literal");
        rejectsPickle(bytes("S'abc\n."), "STRING", "must be quoted");
        rejectsPickle(bytes("g-1\n."), "negative memo index");
        rejectsPickle(bytes("Np99999999999999999999\n."), "PUT", "invalid memo index");
        rejectsPickle(bytes("cos"), "GLOBAL", "no end of line");
        rejectsPickle(bytes("cmod\nC\n}}\u0092."), "NEWOBJ_EX", "not a tuple");
        rejectsPickle(bytes("(o."), "OBJ", "needs a class");
        rejectsPickle(bytes("N}\u0081."), "NEWOBJ", "not a class or function");
        rejectsPickle(bytes("c_codecs\nencode\n(X\u0001\u0000\u0000\u0000aX\u0005\u0000\u0000\u0000rot13tR."), "unsupported encoding");
    }

    @Test
    void pickleErrorsInsideACheckpointNameTheFileAndEntry() {
        byte[] pkl = bytes("\u0080\u0002}(X\u0001\u0000\u0000\u0000aK\u0001a.");
        rejects(storedZip(archive("archive", pkl, Map.of())), "bad.ckpt: archive/data.pkl: pickle opcode APPEND at byte 12");
    }

    // ---------------------------------------------------------------- absurd tensors

    @Test
    void absurdShapesAndSizes() {
        Map<String, byte[]> six = Map.of("0", f32(0, 1, 2, 3, 4, 5));
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, longs(1L << 31, 1L << 31), longs(1, 1)), six), "more than 2^31-1 elements");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, longs(-1), longs(1)), six), "negative size");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, longs(2), longs(-1)), six), "negative stride");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 10, longs(1), longs(1)), six), "reaches element 10", "holds 6");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, longs(3, 3), longs(3, 1)), six), "reaches element 8");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, longs(2, 2), longs(1L << 62, 1L << 62)), six), "reaches element 2^63");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, longs(2), longs(1, 1)), six), "differ in rank");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 1000, 0, longs(2), longs(1)), six), "declares 1000 elements", "holds 24 bytes");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "nope", 6, 0, longs(2), longs(1)), six), "storage 'nope' has no entry archive/data/nope");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, new long[65], new long[65]), six), "65 dimensions");
        rejects(checkpoint(w -> w.str("t").tensor("FloatStorage", "0", 6, 0, longs(7), longs(0)), six), "has 7 elements", "holds only 24 bytes");
        rejects(checkpoint(w -> w.str("t").tensor("ComplexFloatStorage", "0", 3, 0, longs(3), longs(1)), six), "tensor 't'", "unsupported storage type torch.ComplexFloatStorage");
        rejects(checkpoint(w -> w.str("t").global("torch._utils", "_rebuild_tensor_v2").mark().str("x").integer(0).ints(1).ints(1)
                .bool(false).none().tuple().reduce(), six), "not a storage");
        rejects(checkpoint(w -> w.str("t").global("torch._utils", "_rebuild_tensor_v2").mark().integer(0).tuple().reduce(), six), "takes 6 or 7 arguments");
        rejects(checkpoint(w -> w.str("t").global("torch._utils", "_rebuild_tensor_v2").mark().storage("FloatStorage", "0", 6)
                .integer(0).mark().str("2").tuple().ints(1).bool(false).none().tuple().reduce(), six), "the size holds the str '2'");
        rejects(checkpoint(w -> w.str("t").global("torch._utils", "_rebuild_tensor_v2").mark().storage("FloatStorage", "0", 6)
                .integer(0).ints(1).ints(1).integer(1).none().tuple().reduce(), six), "requires_grad is an int");
        rejects(checkpoint(w -> w.str("t").mark().str("storage").tuple().binpersid(), six), "unsupported persistent id");
        rejects(checkpoint(w -> w.str("t").mark().str("storage").str("FloatStorage").str("0").str("cpu").integer(6).tuple().binpersid(), six),
                "not a torch storage class");
        rejects(checkpoint(w -> w.str("t").mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(-6).tuple().binpersid(), six),
                "not a non-negative int");
        rejects(storedZip(archive("archive", new PickleWriter().proto(2).emptyDict().str("state_dict").emptyList().setitem().stop().bytes(), six)),
                "'state_dict' is a list, not a dict");
        rejects(storedZip(archive("archive", new PickleWriter().proto(2).emptyList().stop().bytes(), six)), "holds a list, not a state dict");
    }

    // ---------------------------------------------------------------- bombs

    @Test
    void nestingBombs() {
        byte[] marks = new byte[1_000_000];
        Arrays.fill(marks, (byte) '(');
        rejectsPickle(marks, "MARK at byte 10000", "nested MARKs");
        byte[] lists = new byte[500_000];
        Arrays.fill(lists, (byte) ']');
        rejectsPickle(lists, "EMPTY_LIST at byte 100000", "stack holds more than 100000 items");
        // a million nested lists built with a constant stack through the memo: loads, no recursion
        int depth = 1_000_000;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bytes("]q\u00000"));
        byte[] step = bytes("]h\u0000aq\u00000");
        for (int i = 0; i < depth; i++) out.writeBytes(step);
        out.writeBytes(bytes("h\u0000."));
        Object root = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> Pickle.load(out.toByteArray()));
        int n = 0;
        for (Object o = root; !((List<?>) o).isEmpty(); o = ((List<?>) o).get(0)) n++;
        assertEquals(depth, n);
    }

    @Test
    void memoBombs() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('N');
        for (int i = 0; i <= Pickle.MAX_MEMO; i++) out.writeBytes(new byte[] {'r', (byte) i, (byte) (i >>> 8), (byte) (i >>> 16), 0});
        out.write('.');
        rejectsPickle(out.toByteArray(), "LONG_BINPUT", "memo holds more than 1000000 entries");
        // "billion laughs": 10 levels of 1000 references each; shared, so it loads at once
        PickleWriter w = new PickleWriter().proto(2).emptyList().put(0);
        for (int level = 1; level <= 10; level++) {
            w.emptyList().mark();
            for (int i = 0; i < 1000; i++) w.get(level - 1);
            w.appends().put(level);
        }
        byte[] laughs = w.stop().bytes();
        rejectsPickle(laughs, "STOP", "items on the stack"); // 11 lists were left on the stack
        PickleWriter ok = new PickleWriter().proto(2).emptyList().put(0);
        for (int level = 1; level <= 10; level++) {
            ok.op('0').emptyList().mark();
            for (int i = 0; i < 1000; i++) ok.get(level - 1);
            ok.appends().put(level);
        }
        Object root = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> Pickle.load(ok.stop().bytes()));
        assertEquals(1000, ((List<?>) root).size());
    }

    @Test
    void hugeDeclaredLengths() {
        rejectsPickle(new PickleWriter().op(0x8d).le64(1L << 62).op('a').bytes(), "BINUNICODE8", "declares 4611686018427387904 bytes");
        rejectsPickle(new PickleWriter().op(0x8e).le64(-1).bytes(), "BINBYTES8", "declares 18446744073709551615 bytes");
        rejectsPickle(new PickleWriter().op('X').le32(0xffffffffL).bytes(), "BINUNICODE", "declares 4294967295 bytes");
        rejectsPickle(new PickleWriter().op('B').le32(0x7fffffffL).bytes(), "BINBYTES", "truncated");
        rejectsPickle(new PickleWriter().op('T').le32(-5).bytes(), "BINSTRING", "negative string length");
        rejectsPickle(new PickleWriter().op(0x8b).le32(0x7fffffffL).bytes(), "LONG4", "too long");
        rejectsPickle(new PickleWriter().op(0x95).le64(1L << 40).bytes(), "FRAME", "truncated");
        rejectsPickle(bytes("I" + "9".repeat(100_000) + "\n."), "INT", "100000 digits is too long");
        byte[] noNewline = new byte[5_000_000];
        Arrays.fill(noNewline, (byte) 'a');
        noNewline[0] = 'V';
        rejectsPickle(noNewline, "UNICODE", "no end of line");
    }

    @Test
    void dangerousGlobalsAreNeverCalled() throws Exception {
        byte[] p = new PickleWriter().proto(2).mark()
                .global("builtins", "eval").mark().str("__import__('os').system('false')").tuple().reduce()
                .global("subprocess", "Popen").mark().str("false").tuple().emptyDict().op(0x92)
                .global("builtins", "getattr").mark().global("os", "system").str("__call__").tuple().reduce()
                .mark().str("x").op('i').raw(bytes("os\nsystem\n"))
                .list().stop().bytes();
        List<?> l = (List<?>) Pickle.load(p);
        assertEquals(4, l.size());
        for (Object o : l) assertInstanceOf(Pickle.Opaque.class, o);
        assertEquals("builtins.eval", ((Pickle.Opaque) l.get(0)).qualifiedName());
        assertEquals("subprocess.Popen", ((Pickle.Opaque) l.get(1)).qualifiedName());
        assertEquals("os.system", ((Pickle.Opaque) l.get(3)).qualifiedName());
        // calling an Opaque result (getattr(...)(...)) is refused, not attempted
        byte[] call = new PickleWriter().proto(2).global("builtins", "getattr").mark().global("os", "system").str("__call__").tuple().reduce()
                .mark().str("false").tuple().reduce().stop().bytes();
        rejectsPickle(call, "REDUCE", "the callable is a builtins.getattr object");
    }
}
