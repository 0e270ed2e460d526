package dev.magvit4j.golden;

import dev.magvit4j.io.Json;
import dev.magvit4j.io.Npy;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Access to a golden case directory: {@code <goldens.dir>/<case>/} with case.json and .npz
 * files (SPEC.md section 4). The directory comes from the system property goldens.dir
 * (default ../shared/goldens); a missing case is a test failure, never a skip.
 */
public final class Goldens {

    private final Path dir;
    public final Map<String, Object> config;

    private Goldens(Path dir, Map<String, Object> config) {
        this.dir = dir;
        this.config = config;
    }

    public static Path root() {
        return Path.of(System.getProperty("goldens.dir", "../shared/goldens"));
    }

    public static Goldens load(String name) throws IOException {
        Path dir = root().resolve(name);
        if (!Files.isDirectory(dir)) {
            fail("golden case directory " + dir.toAbsolutePath().normalize() + " not found: pass -Dgoldens.dir=<folder with the cases>");
        }
        return new Goldens(dir, Json.object(Json.read(dir.resolve("case.json")), "case.json"));
    }

    public Map<String, Tensor> npz(String file) throws IOException {
        return Npy.readNpz(dir.resolve(file));
    }

    public Path path(String file) {
        return dir.resolve(file);
    }

    public double number(String key) {
        Object v = config.get(key);
        if (!(v instanceof Number n)) throw new AssertionError("case.json has no number '" + key + "'");
        return n.doubleValue();
    }

    public int[] ints(String key) {
        Object v = config.get(key);
        if (!(v instanceof List<?> l)) throw new AssertionError("case.json has no list '" + key + "'");
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).intValue();
        return out;
    }
}
