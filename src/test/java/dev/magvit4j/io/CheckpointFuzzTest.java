package dev.magvit4j.io;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A seeded mutation loop over the three golden checkpoints: byte flips, truncations, duplicated
 * and removed ranges of the whole file, and the same plus random opcode insertions inside
 * data.pkl (re-zipped with a correct CRC so the unpickler sees them). Every mutated file must
 * either load (root and state dict) or fail with a {@link CheckpointException} with a one-line
 * message, each attempt within {@value #ATTEMPT_SECONDS} s. Runs for -Dfuzz.seconds (default 8)
 * with -Dfuzz.seed (default fixed); a failure names the attempt's seed and mutation.
 */
class CheckpointFuzzTest {

    private static final int ATTEMPT_SECONDS = 5;

    /** Opcodes to insert, each with a generator of plausible-but-random arguments. */
    private static final int[] OPCODES = {
        '(', '.', '0', '1', '2', 'F', 'I', 'J', 'K', 'L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'X', 'a', 'b', 'c', 'd',
        '}', 'e', 'g', 'h', 'i', 'j', 'l', ']', 'o', 'p', 'q', 'r', 's', 't', ')', 'u', 'G', 'B', 'C',
        0x80, 0x81, 0x82, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    };

    private record Golden(String name, byte[] file, Map<String, byte[]> entries, String pickleName) {}

    private record Mutant(String description, byte[] file) {}

    @Test
    void mutatedCheckpointsLoadOrFailCleanly() throws Exception {
        double seconds = Double.parseDouble(System.getProperty("fuzz.seconds", "8"));
        long seed = Long.getLong("fuzz.seed", 0x6d616776L);
        List<Golden> goldens = new ArrayList<>();
        for (String name : new String[] {"discriminator", "ar", "tokenizer"}) goldens.add(load(name));

        Random master = new Random(seed);
        Map<String, int[]> stats = new TreeMap<>(); // kind -> {loaded, rejected}
        ExecutorService pool = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-attempt");
            t.setDaemon(true);
            return t;
        });
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        int attempts = 0;
        try {
            while (System.nanoTime() < deadline || attempts < 30) {
                long attemptSeed = master.nextLong();
                Random r = new Random(attemptSeed);
                // the small goldens more often: more attempts per second
                Golden g = goldens.get(r.nextInt(10) < 6 ? 0 : r.nextInt(10) < 6 ? 1 : 2);
                Mutant m = mutate(g, r);
                String label = "seed " + attemptSeed + " on " + g.name + ": " + m.description;
                Future<Throwable> f = pool.submit(() -> attempt(m.file));
                Throwable t;
                try {
                    t = f.get(ATTEMPT_SECONDS, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    fail("attempt took more than " + ATTEMPT_SECONDS + " s: " + label);
                    return;
                }
                String kind = m.description.substring(0, m.description.indexOf(':'));
                int[] s = stats.computeIfAbsent(kind, k -> new int[2]);
                if (t == null) {
                    s[0]++;
                } else if (t instanceof CheckpointException ce) {
                    s[1]++;
                    String msg = ce.getMessage();
                    if (msg == null || msg.contains("\n") || !msg.startsWith("fuzz.ckpt: ")) fail("bad message '" + msg + "' for " + label);
                } else {
                    throw new AssertionError("not a CheckpointException: " + t + " for " + label, t);
                }
                attempts++;
            }
        } finally {
            pool.shutdownNow();
        }
        StringBuilder sb = new StringBuilder("fuzz: " + attempts + " attempts in " + seconds + " s (seed " + seed + "); loaded/rejected by kind:");
        stats.forEach((k, v) -> sb.append(' ').append(k).append('=').append(v[0]).append('/').append(v[1]));
        System.out.println(sb);
        assertTrue(attempts >= 30);
    }

    private static Throwable attempt(byte[] file) {
        try (Checkpoint c = Checkpoint.read(file, "fuzz.ckpt")) {
            c.root();
            c.stateDict();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static Golden load(String name) throws Exception {
        Path path = CheckpointTest.golden(name);
        byte[] file = java.nio.file.Files.readAllBytes(path);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        String pickle = null;
        try (ZipFile zip = new ZipFile(path.toFile())) {
            Enumeration<? extends ZipEntry> en = zip.entries();
            while (en.hasMoreElements()) {
                ZipEntry e = en.nextElement();
                try (InputStream in = zip.getInputStream(e)) {
                    entries.put(e.getName(), in.readAllBytes());
                }
                if (e.getName().endsWith("/data.pkl")) pickle = e.getName();
            }
        }
        return new Golden(name, file, entries, pickle);
    }

    // ---------------------------------------------------------------- mutations

    private static Mutant mutate(Golden g, Random r) {
        int kind = r.nextInt(10);
        if (kind < 4) {
            Mutant m = mutateBytes(g.file, r, true);
            return new Mutant("file " + m.description, m.file);
        }
        if (kind < 9) {
            byte[] pkl = g.entries.get(g.pickleName);
            Mutant m = r.nextInt(3) == 0 ? mutateBytes(pkl, r, false) : insertOpcodes(pkl, r);
            Map<String, byte[]> entries = new LinkedHashMap<>(g.entries);
            entries.put(g.pickleName, m.file);
            return new Mutant("pickle " + m.description, TorchFixtures.storedZip(entries));
        }
        // a storage entry: new contents (loads) or a shorter entry (rejected)
        List<String> storages = new ArrayList<>();
        for (String n : g.entries.keySet()) if (n.contains("/data/")) storages.add(n);
        String victim = storages.get(r.nextInt(storages.size()));
        byte[] data = g.entries.get(victim).clone();
        boolean shorten = r.nextBoolean() && data.length > 0;
        if (shorten) data = Arrays.copyOf(data, r.nextInt(data.length));
        else for (int i = 0; i < 4 && data.length > 0; i++) data[r.nextInt(data.length)] = (byte) r.nextInt(256);
        Map<String, byte[]> entries = new LinkedHashMap<>(g.entries);
        entries.put(victim, data);
        return new Mutant("storage: " + (shorten ? "shortened " : "changed ") + victim, TorchFixtures.storedZip(entries));
    }

    /** Flips, truncation, a duplicated or a removed range. */
    private static Mutant mutateBytes(byte[] in, Random r, boolean nearEnd) {
        int n = in.length;
        switch (r.nextInt(4)) {
            case 0 -> {
                byte[] b = in.clone();
                int flips = 1 + r.nextInt(8);
                StringBuilder where = new StringBuilder();
                for (int i = 0; i < flips; i++) {
                    // half of the flips in the last 4 KB (the zip directories) of the file
                    int at = nearEnd && r.nextBoolean() ? Math.max(0, n - 1 - r.nextInt(Math.min(n, 4096))) : r.nextInt(n);
                    b[at] ^= (byte) (1 << r.nextInt(8));
                    where.append(i > 0 ? "," : "").append(at);
                }
                return new Mutant("flip: bytes " + where, b);
            }
            case 1 -> {
                int cut = r.nextInt(n);
                return new Mutant("truncate: at " + cut, Arrays.copyOf(in, cut));
            }
            case 2 -> {
                int from = r.nextInt(n), len = 1 + r.nextInt(Math.min(256, n - from)), to = r.nextInt(n + 1);
                byte[] b = new byte[n + len];
                System.arraycopy(in, 0, b, 0, to);
                System.arraycopy(in, from, b, to, len);
                System.arraycopy(in, to, b, to + len, n - to);
                return new Mutant("duplicate: " + len + " bytes from " + from + " at " + to, b);
            }
            default -> {
                int from = r.nextInt(n), len = 1 + r.nextInt(Math.min(256, n - from));
                byte[] b = new byte[n - len];
                System.arraycopy(in, 0, b, 0, from);
                System.arraycopy(in, from + len, b, from, n - from - len);
                return new Mutant("remove: " + len + " bytes at " + from, b);
            }
        }
    }

    /** Inserts 1-4 random opcodes with random (often plausible) arguments. */
    private static Mutant insertOpcodes(byte[] in, Random r) {
        byte[] out = in;
        StringBuilder desc = new StringBuilder("opcodes:");
        int count = 1 + r.nextInt(4);
        for (int k = 0; k < count; k++) {
            int op = OPCODES[r.nextInt(OPCODES.length)];
            byte[] arg = argument(op, r);
            int at = r.nextInt(out.length + 1);
            byte[] b = new byte[out.length + 1 + arg.length];
            System.arraycopy(out, 0, b, 0, at);
            b[at] = (byte) op;
            System.arraycopy(arg, 0, b, at + 1, arg.length);
            System.arraycopy(out, at, b, at + 1 + arg.length, out.length - at);
            out = b;
            desc.append(String.format(" %s@%d", Pickle.opName(op), at));
        }
        return new Mutant(desc.toString(), out);
    }

    private static byte[] argument(int op, Random r) {
        return switch (op) {
            case 'K', 'h', 'q', 'U', 'C', 0x80, 0x82, 0x8c -> new byte[] {(byte) (r.nextBoolean() ? r.nextInt(4) : r.nextInt(256))};
            case 'M' -> new byte[] {(byte) r.nextInt(256), (byte) r.nextInt(256)};
            case 'J', 'j', 'r', 'T', 'X', 'B', 0x8b -> le(r.nextBoolean() ? r.nextInt(16) : r.nextInt(), 4);
            case 'G' -> le(r.nextLong(), 8);
            case 0x8a -> new byte[] {(byte) r.nextInt(3), 1, 2};
            case 0x8d, 0x8e, 0x95, 0x96 -> le(r.nextBoolean() ? r.nextInt(16) : r.nextLong(), 8);
            case 'I', 'L', 'g', 'p', 'F' -> (Integer.toString(r.nextInt(2000) - 10) + "\n").getBytes();
            case 'S' -> "'x\\n'\n".getBytes();
            case 'V', 'P' -> "abc\n".getBytes();
            case 'c', 'i' -> (r.nextBoolean() ? "torch._utils\n_rebuild_tensor_v2\n" : "collections\nOrderedDict\n").getBytes();
            default -> new byte[0];
        };
    }

    private static byte[] le(long v, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (v >>> (8 * i));
        return b;
    }
}
