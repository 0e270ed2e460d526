package dev.magvit4j.data;

import dev.magvit4j.tensor.Tensor;

import java.io.IOException;

/**
 * A finite, indexed set of labelled images: a folder of files ({@link ImageFolder}) or the
 * procedural set ({@link BuiltinImages}). {@link Loader} turns one into training batches.
 */
public interface Dataset {

    /** Number of images. */
    int size();

    int numClasses();

    /** Name of class c (a folder name, or a built-in class name). */
    String className(int c);

    /** Class of image i, known without decoding it. */
    int label(int index);

    /** Image i as float32 [3, H, W] in [-1, 1], before any resizing or cropping. */
    Tensor image(int index) throws IOException;

    /** Image i's name in messages (a path relative to the folder, or "class/index"). */
    String name(int index);

    static void checkIndex(int index, int size) {
        if (index < 0 || index >= size) throw new IndexOutOfBoundsException("image index " + index + " is out of range 0.." + (size - 1));
    }
}
