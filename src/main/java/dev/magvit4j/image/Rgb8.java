package dev.magvit4j.image;

/**
 * An 8-bit image held as planes: {@code planes[c * height * width + y * width + x]}, unsigned
 * bytes. The form in which decoded files and the exact (Pillow) resize work.
 */
record Rgb8(int channels, int width, int height, byte[] planes) {

    Rgb8 {
        if ((long) channels * width * height != planes.length) {
            throw new IllegalArgumentException(channels + "x" + height + "x" + width + " planes need "
                    + (long) channels * width * height + " bytes, got " + planes.length);
        }
    }

    int get(int c, int y, int x) {
        return planes[(c * height + y) * width + x] & 0xFF;
    }
}
