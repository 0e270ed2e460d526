package dev.magvit4j.backend.cpu;

import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorMask;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every vector helper of the CPU backend (a method taking a vector or mask argument) is named by
 * an inline command in jvm.options: a helper C2 does not inline boxes its vectors on the heap at
 * every call (see jvm.options), so a new helper must be added there.
 */
class JvmOptionsTest {

    @Test
    void everyVectorHelperIsInlined() throws Exception {
        List<Pattern> inlined = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("jvm.options"))) {
            String s = line.replaceAll("#.*", "").trim();
            if (!s.startsWith("-XX:CompileCommand=inline,")) continue;
            String pattern = s.substring("-XX:CompileCommand=inline,".length());
            inlined.add(Pattern.compile(Pattern.quote(pattern).replace("*", "\\E.*\\Q")));
        }
        assertTrue(inlined.size() >= 5, "jvm.options has " + inlined.size() + " inline commands; the parsing is broken");

        Path classes = Path.of(CpuBackend.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve(CpuBackend.class.getPackageName().replace('.', '/'));
        List<String> missing = new ArrayList<>();
        int helpers = 0;
        try (Stream<Path> files = Files.list(classes)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                String name = CpuBackend.class.getPackageName() + "." + f.getFileName().toString().replace(".class", "");
                for (Method m : Class.forName(name, false, getClass().getClassLoader()).getDeclaredMethods()) {
                    if (m.isSynthetic() || Stream.of(m.getParameterTypes())
                            .noneMatch(t -> Vector.class.isAssignableFrom(t) || VectorMask.class.isAssignableFrom(t))) continue;
                    helpers++;
                    String id = name.replace('$', '.') + "::" + m.getName();
                    if (inlined.stream().noneMatch(p -> p.matcher(id).matches())) missing.add(id);
                }
            }
        }
        assertTrue(helpers >= 10, "found only " + helpers + " vector helpers in " + classes);
        assertTrue(missing.isEmpty(), "vector helpers not inlined by jvm.options (add a -XX:CompileCommand=inline line): " + missing);
    }
}
