package dev.magvit4j;

import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Java examples compile against the library as it is: each ```java block becomes the
 * body of one method (its import lines go to the top), so a renamed class or a changed signature
 * fails here instead of in a reader's editor. The few names the examples take as given (a
 * checkpoint's path, training batches, a state dict) are fields of the wrapping class.
 */
class ReadmeExamplesTest {

    private static final String GIVEN = "Tensor pre, post, labels; Map<String, Tensor> weights; Path ckpt, path;";

    @Test
    void javaExamplesCompile() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("README.md"));
        var imports = new TreeSet<String>(List.of("import java.nio.file.*;", "import java.util.*;"));
        for (String pkg : List.of("tensor", "autograd", "backend", "ops", "nn", "optim", "io", "image",
                "data", "tokenizer", "ar", "train"))
            imports.add("import dev.magvit4j." + pkg + ".*;");
        List<String> bodies = new ArrayList<>();
        StringBuilder block = null;
        for (String line : lines) {
            if (block == null && line.equals("```java")) block = new StringBuilder();
            else if (block != null && line.equals("```")) {
                bodies.add(block.toString());
                block = null;
            } else if (block != null && line.startsWith("import ")) imports.add(line.replaceAll("\\s*//.*", ""));
            else if (block != null) block.append(line).append('\n');
        }
        assertTrue(bodies.size() >= 5, "README has " + bodies.size() + " java blocks; the extraction is broken");

        var source = new StringBuilder(String.join("\n", imports)).append("\nclass ReadmeExamples {\n")
                .append(GIVEN).append('\n');
        for (int i = 0; i < bodies.size(); i++)
            source.append("void example").append(i).append("() throws Exception {\n").append(bodies.get(i)).append("}\n");
        source.append("}\n");

        var javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler: the tests need a JDK, not a JRE");
        var file = new SimpleJavaFileObject(URI.create("string:///ReadmeExamples.java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        Path classes = Path.of(Tensor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path out = Files.createTempDirectory("readme-examples");
        var diagnostics = new DiagnosticCollector<JavaFileObject>();
        boolean ok = javac.getTask(null, null, diagnostics,
                List.of("--add-modules", "jdk.incubator.vector", "-proc:none", "-nowarn",
                        "-cp", classes.toString(), "-d", out.toString()),
                null, List.of(file)).call();
        var errors = new StringBuilder();
        for (var d : diagnostics.getDiagnostics())
            if (d.getKind() == javax.tools.Diagnostic.Kind.ERROR)
                errors.append("\n  line ").append(d.getLineNumber()).append(": ").append(d.getMessage(null))
                        .append("\n    ").append(source.toString().lines().skip(d.getLineNumber() - 1).findFirst().orElse(""));
        assertTrue(ok && errors.isEmpty(), "README examples do not compile:" + errors);
        assertFalse(Files.list(out).findAny().isEmpty(), "nothing compiled");
    }
}
