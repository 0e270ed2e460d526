package dev.magvit4j;

import dev.magvit4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Java examples compile against the library as it is, so a renamed class or a
 * changed signature fails here instead of in a reader's editor. Each ```java block becomes the
 * body of a method of its own class. A block that starts with imports is a whole example and
 * gets exactly those imports (a missing one fails); a block without is a fragment and gets every
 * package of the library. The few values the examples take as given (a checkpoint's path,
 * training batches, a state dict) are fields of the wrapping class.
 */
class ReadmeExamplesTest {

    private static final String GIVEN = "dev.magvit4j.tensor.Tensor pre, post, labels; "
            + "java.util.Map<String, dev.magvit4j.tensor.Tensor> weights; java.nio.file.Path ckpt, path;";

    /** A fragment's imports: every package, java.lang.Module shadowed as the README says to. */
    private static final String FRAGMENT_IMPORTS = Stream.of("tensor", "autograd", "backend", "ops", "nn", "optim", "io", "image",
                    "data", "tokenizer", "ar", "train")
            .map(p -> "import dev.magvit4j." + p + ".*;\n").reduce("", String::concat)
            + "import dev.magvit4j.nn.Module;\nimport java.nio.file.*;\nimport java.util.*;\n";

    private record Source(String name, String text) {}

    @Test
    void javaExamplesCompile() throws Exception {
        List<Source> sources = new ArrayList<>();
        StringBuilder imports = null, body = null;
        for (String line : Files.readAllLines(Path.of("README.md"))) {
            if (body == null && line.equals("```java")) {
                imports = new StringBuilder();
                body = new StringBuilder();
            } else if (body != null && line.equals("```")) {
                String name = "ReadmeExample" + sources.size();
                String head = imports.isEmpty() ? FRAGMENT_IMPORTS : imports.toString();
                sources.add(new Source(name, head + "class " + name + " {\n" + GIVEN + "\nvoid example() throws Exception {\n" + body + "}\n}\n"));
                body = null;
            } else if (body != null && line.startsWith("import ")) imports.append(line).append('\n');
            else if (body != null) body.append(line).append('\n');
        }
        assertTrue(sources.size() >= 5, "README has " + sources.size() + " java blocks; the extraction is broken");
        assertTrue(sources.stream().anyMatch(s -> !s.text().startsWith(FRAGMENT_IMPORTS)), "no README example has imports of its own");

        var javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler: the tests need a JDK, not a JRE");
        List<JavaFileObject> files = new ArrayList<>();
        for (Source s : sources) {
            files.add(new SimpleJavaFileObject(URI.create("string:///" + s.name() + ".java"), JavaFileObject.Kind.SOURCE) {
                @Override
                public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                    return s.text();
                }
            });
        }
        Path classes = Path.of(Tensor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path out = Files.createTempDirectory("readme-examples");
        var diagnostics = new DiagnosticCollector<JavaFileObject>();
        boolean ok = javac.getTask(null, null, diagnostics,
                List.of("--add-modules", "jdk.incubator.vector", "-proc:none", "-nowarn", "-cp", classes.toString(), "-d", out.toString()),
                null, files).call();
        var errors = new StringBuilder();
        for (var d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR) continue;
            String text = d.getSource().getCharContent(true).toString();
            errors.append("\n  ").append(d.getSource().getName()).append(" line ").append(d.getLineNumber()).append(": ").append(d.getMessage(null))
                    .append("\n    ").append(text.lines().skip(d.getLineNumber() - 1).findFirst().orElse(""));
        }
        assertTrue(ok && errors.isEmpty(), "README examples do not compile:" + errors);
        try (Stream<Path> compiled = Files.list(out)) {
            assertEquals(sources.size(), compiled.filter(f -> !f.getFileName().toString().contains("$")).count(), "one class per README example");
        }
    }
}
