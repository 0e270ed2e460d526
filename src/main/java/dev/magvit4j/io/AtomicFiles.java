package dev.magvit4j.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/** The first half of an atomic write: a fresh hidden file beside the target, to be renamed over it when complete. */
public final class AtomicFiles {

    private AtomicFiles() {}

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
