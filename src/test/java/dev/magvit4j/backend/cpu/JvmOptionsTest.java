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
 * Every vector helper of the CPU backend (a method taking or returning a vector or mask, lambdas
 * included) is named by an inline command in jvm.options: a helper C2 does not inline boxes its
 * vectors on the heap at every call (see jvm.options), so a new helper must be added there.
 */
class JvmOptionsTest {

    private static boolean isVector(Class<?> t) {
        return Vector.class.isAssignableFrom(t) || VectorMask.class.isAssignableFrom(t);
    }

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
                    if (Stream.concat(Stream.of(m.getParameterTypes()), Stream.of(m.getReturnType())).noneMatch(JvmOptionsTest::isVector)) continue;
                    helpers++;
                    String id = name + "::" + m.getName(); // HotSpot names a nested class Outer$Inner, as the class file does
                    if (inlined.stream().noneMatch(p -> p.matcher(id).matches())) missing.add(id);
                }
            }
        }
        assertTrue(helpers >= 10, "found only " + helpers + " vector helpers in " + classes);
        assertTrue(missing.isEmpty(), "vector helpers not inlined by jvm.options (add a -XX:CompileCommand=inline line): " + missing);
    }
}
