package dev.magvit4j.testing;

import dev.magvit4j.backend.cuda.Cuda;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A fresh JVM on this test's class path, for what one JVM can see only once (the CUDA probe, a
 * device's size, the interpreter's bits): its main class runs with the given JVM options and
 * environment, and what it prints comes back.
 *
 * <pre>{@code
 * String out = ChildJvm.run(Probe.class, List.of("-Xint"), Map.of());
 * }</pre>
 */
public final class ChildJvm {

    private ChildJvm() {}

    /**
     * The child's standard output as it printed it; fails the test, with the child's standard
     * error, if it exits with an error or runs past two minutes.
     */
    public static String run(Class<?> main, List<String> jvmOptions, Map<String, String> environment) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classPath(main), main.getName()));
        Path out = Files.createTempFile("child-jvm", ".out"), err = Files.createTempFile("child-jvm", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().putAll(environment);
            Process p = pb.start();
            boolean ended = p.waitFor(2, TimeUnit.MINUTES);
            if (!ended) p.destroyForcibly().waitFor();
            String printed = Files.readString(out, StandardCharsets.UTF_8);
            if (!ended) fail("the child JVM " + main.getSimpleName() + " ran past two minutes; it printed: " + printed + Files.readString(err));
            assertEquals(0, p.exitValue(), "the child JVM " + main.getSimpleName() + " failed: " + printed + Files.readString(err));
            return printed;
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /**
     * This JVM's class path, and where the main class, magvit4j and JUnit were loaded from: under
     * a launcher that loads the tests itself (benchmarks/gpu/run.sh uses JUnit's console
     * launcher), the class path holds only the launcher.
     */
    private static String classPath(Class<?> main) throws Exception {
        Set<String> entries = new LinkedHashSet<>(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        for (Class<?> c : new Class<?>[] {main, Cuda.class, org.junit.jupiter.api.Assertions.class}) {
            entries.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        }
        return String.join(File.pathSeparator, entries);
    }

    /**
     * {@link #run} on the test suite's CUDA emulator, whose environment variables (device size,
     * driver version) the child sets; skips the test where the emulator is not what runs
     * (not built here, or a real GPU).
     */
    public static String onEmulator(Class<?> main, Map<String, String> environment) throws Exception {
        String driver = System.getProperty("magvit4j.cuda.driver", "");
        assumeTrue(!driver.isEmpty() && Files.exists(Path.of(driver)) && Cuda.available() && Cuda.device(0).name.contains("emulator"),
                "needs the CUDA emulator (built by mvn test-compile when g++ and nvcc are here)");
        return run(main, List.of("-Xmx256m", "-Dmagvit4j.cuda.driver=" + driver), environment);
    }
}
