package dev.magvit4j.cli;

import dev.magvit4j.data.ImageFolder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Image files named on the command line: files as given, folders searched (recursively) for PNG and JPEG files. */
final class ImageInputs {

    private ImageInputs() {}

    /** An image file and the name it is known by in outputs (its path relative to the folder given, or its file name). */
    record Input(Path file, String name) {}

    static List<Input> list(List<String> args) throws IOException {
        if (args.isEmpty()) throw new CliException("no images given: name image files or folders");
        List<Input> out = new ArrayList<>();
        for (String a : args) {
            Path p = Path.of(a);
            if (Files.isDirectory(p)) {
                List<Path> found;
                try (Stream<Path> s = Files.walk(p)) {
                    found = s.filter(Files::isRegularFile).filter(ImageFolder::isImage).sorted().toList();
                }
                if (found.isEmpty()) throw new CliException("folder " + p + " holds no PNG or JPEG files");
                for (Path f : found) out.add(new Input(f, p.relativize(f).toString()));
            } else if (Files.isRegularFile(p)) {
                out.add(new Input(p, p.getFileName().toString()));
            } else {
                throw new CliException("no such image file or folder: " + a);
            }
        }
        return out;
    }

    /** An output file name for an input name: its path flattened, with a new extension. */
    static String outputName(String name, String extension) {
        String flat = name.replace('\\', '/').replace('/', '_');
        int dot = flat.lastIndexOf('.');
        return (dot > 0 ? flat.substring(0, dot) : flat) + extension;
    }
}
