package dev.magvit4j.data;

import dev.magvit4j.image.Images;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Images on disk, in one of two layouts:
 * <ul>
 * <li>ImageNet-style: one subfolder per class ({@code root/n01440764/*.JPEG}); classes are the
 *     subfolder names in sorted order, each searched recursively;
 * <li>flat: image files directly in {@code root} (or below it, with no class subfolders at the
 *     top), all in one class named after the folder.
 * </ul>
 * PNG and JPEG files count; everything else is ignored. Files are sorted, so indices are stable.
 */
public final class ImageFolder implements Dataset {

    private final Path root;
    private final List<String> classes = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();

    public ImageFolder(Path root) throws IOException {
        this.root = root;
        if (!Files.isDirectory(root)) throw new IOException("image folder " + root + " does not exist or is not a folder");
        List<Path> subfolders;
        try (Stream<Path> s = Files.list(root)) {
            subfolders = s.filter(Files::isDirectory).sorted().toList();
        }
        List<Path> topFiles = imagesUnder(root, false);
        if (!subfolders.isEmpty() && topFiles.isEmpty()) {
            for (Path sub : subfolders) {
                List<Path> found = imagesUnder(sub, true);
                if (found.isEmpty()) continue; // an empty class folder is not a class
                int label = classes.size();
                classes.add(sub.getFileName().toString());
                for (Path f : found) {
                    files.add(f);
                    labels.add(label);
                }
            }
        } else {
            classes.add(root.toAbsolutePath().normalize().getFileName() == null ? "images" : root.toAbsolutePath().normalize().getFileName().toString());
            for (Path f : imagesUnder(root, true)) {
                files.add(f);
                labels.add(0);
            }
        }
        if (files.isEmpty()) throw new IOException("image folder " + root + " holds no PNG or JPEG files (expected root/CLASS/*.png or root/*.png)");
    }

    private static List<Path> imagesUnder(Path dir, boolean recursive) throws IOException {
        try (Stream<Path> s = recursive ? Files.walk(dir) : Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(ImageFolder::isImage).sorted().toList();
        }
    }

    /** A PNG or JPEG file, by its extension. */
    public static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    @Override
    public int size() {
        return files.size();
    }

    @Override
    public int numClasses() {
        return classes.size();
    }

    @Override
    public String className(int c) {
        return classes.get(c);
    }

    @Override
    public int label(int index) {
        Dataset.checkIndex(index, size());
        return labels.get(index);
    }

    @Override
    public Tensor image(int index) throws IOException {
        Dataset.checkIndex(index, size());
        return Images.read(files.get(index));
    }

    @Override
    public String name(int index) {
        Dataset.checkIndex(index, size());
        return root.relativize(files.get(index)).toString();
    }
}
