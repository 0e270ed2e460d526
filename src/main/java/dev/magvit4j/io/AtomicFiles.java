package dev.magvit4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/** Atomic writes: a fresh hidden file beside the target, forced to disk, then renamed over it. */
public final class AtomicFiles {

    private AtomicFiles() {}

    /** Writes {@code bytes} to {@code target} atomically: readers see the old file or the whole new one. */
    public static void write(Path target, byte[] bytes) throws IOException {
        Path[] tmp = new Path[1];
        try {
            try (FileChannel ch = createSibling(target, tmp)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) ch.write(b);
                ch.force(true);
            }
            Files.move(tmp[0], target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp[0] = null;
        } finally {
            if (tmp[0] != null) Files.deleteIfExists(tmp[0]);
        }
    }

    /**
     * Creates and opens {@code .<name>.<random>.tmp} in the target's folder, with the permissions a
     * new file gets there (the process's umask; {@code Files.createTempFile} would force 0600).
     * {@code path[0]} receives its path.
     */
    public static FileChannel createSibling(Path target, Path[] path) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                path[0] = tmp;
                return ch;
            } catch (FileAlreadyExistsException e) {
                if (attempt > 10) throw e;
            }
        }
    }
}
