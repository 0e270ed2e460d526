package dev.magvit4j.data;

import dev.magvit4j.image.Images;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Training batches from a {@link Dataset}, decoded on background threads ahead of the step.
 *
 * <p>The loader reads an endless stream of samples in a {@link ShuffledOrder}. Both the order and
 * each sample's augmentation (drawn from the seed and the stream position s) are pure
 * functions, so a loader started at position s yields exactly what an uninterrupted one yields
 * from there, whatever the thread count: the position is the whole data state of a resume.
 *
 * <p>Training transform (the reference's): shorter side resized to the image size, a random
 * square crop, a horizontal flip with probability 1/2. Evaluation transform: the centre crop of
 * {@link Images#resizeShorterSideAndCenterCrop}.
 */
public final class Loader implements AutoCloseable {

    /** Images [B, 3, S, S] in [-1, 1], labels int64 [B], and the stream position of the first sample. */
    public record Batch(Tensor images, Tensor labels, long start) {
        public int size() {
            return images.size(0);
        }
    }

    private final Dataset data;
    private final int batchSize, imageSize;
    private final boolean augment;
    private final long seed;
    private final ExecutorService pool;
    private final ArrayDeque<Future<Batch>> ahead = new ArrayDeque<>();
    private final int depth;
    private final ShuffledOrder order;
    private long position, submitted;

    /**
     * @param augment  the training transform (random crop and flip) when true, the centre crop when false
     * @param position the stream position to start from (0 for a new run)
     * @param workers  background decoding threads (at least 1)
     */
    public Loader(Dataset data, int batchSize, int imageSize, boolean augment, long seed, long position, int workers) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        if (imageSize < 1) throw new IllegalArgumentException("image size must be at least 1, got " + imageSize);
        if (workers < 1) throw new IllegalArgumentException("loader workers must be at least 1, got " + workers);
        if (position < 0) throw new IllegalArgumentException("loader position must be >= 0, got " + position);
        this.data = data;
        this.batchSize = batchSize;
        this.imageSize = imageSize;
        this.augment = augment;
        this.seed = seed;
        this.order = new ShuffledOrder(seed, data.size());
        this.position = position;
        this.submitted = position;
        this.depth = workers + 1;
        this.pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "magvit4j-loader");
            t.setDaemon(true);
            return t;
        });
    }

    /** The stream position of the next batch's first sample. */
    public long position() {
        return position;
    }

    /** Samples per epoch. */
    public int epochSize() {
        return data.size();
    }

    /** The next batch; blocks until it is decoded. */
    public Batch next() throws IOException {
        while (ahead.size() < depth) submit();
        Future<Batch> f = ahead.removeFirst();
        submit();
        try {
            Batch b = f.get();
            position = b.start() + b.size();
            return b;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while loading images", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof UncheckedIOException u) throw u.getCause();
            if (c instanceof RuntimeException r) throw r;
            throw new IOException(c.getMessage(), c);
        }
    }

    private void submit() {
        long start = submitted;
        int[] indices = new int[batchSize];
        for (int i = 0; i < batchSize; i++) indices[i] = order.indexOf(start + i);
        submitted += batchSize;
        ahead.addLast(pool.submit(() -> load(start, indices)));
    }

    private Batch load(long start, int[] indices) {
        List<Tensor> images = new ArrayList<>(indices.length);
        long[] labels = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int index = indices[i];
            try {
                images.add(augment ? trainTransform(data.image(index), imageSize, Generator.bits(seed, start + i)) : evalTransform(data.image(index), imageSize));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(data.name(index) + ": " + e.getMessage(), e);
            }
            labels[i] = data.label(index);
        }
        return new Batch(Images.batch(images), Tensor.ofLongs(labels, labels.length), start);
    }

    /** Shorter side to {@code size}, a random {@code size x size} crop and a coin-flip mirror, all drawn from {@code key}. */
    public static Tensor trainTransform(Tensor image, int size, long key) {
        int[] resized = Images.resizedSize(image.size(1), image.size(2), size);
        int top = (int) (Generator.uniform(key, 0) * (resized[0] - size + 1));
        int left = (int) (Generator.uniform(key, 1) * (resized[1] - size + 1));
        Tensor out = Images.resizeShorterSideAndCrop(image, size, top, left);
        return Generator.uniform(key, 2) < 0.5f ? Images.flipHorizontal(out) : out;
    }

    /** The evaluation transform: shorter side to {@code size}, centre crop. */
    public static Tensor evalTransform(Tensor image, int size) {
        return Images.resizeShorterSideAndCenterCrop(image, size);
    }

    /** Images first..first+count-1 of a dataset through the evaluation transform, as one batch. */
    public static Tensor evalBatch(Dataset data, int first, int count, int size) throws IOException {
        List<Tensor> images = new ArrayList<>();
        for (int i = first; i < first + count; i++) images.add(evalTransform(data.image(i), size));
        return Images.batch(images);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
