package dev.magvit4j.image;

/**
 * How a value in [-1, 1] (after clamping) becomes an 8-bit pixel.
 *
 * <p>{@link #TRUNCATE} is what Open-MAGVIT2 does ({@code reconstruct.py} / {@code evaluation.py}
 * {@code custom_to_pil}: {@code t = (x + 1) / 2} in float32, then {@code (255 * t).astype(uint8)},
 * which truncates toward zero). Because {@code p / 127.5 - 1} is rounded to float32 on the way in,
 * that path turns an input pixel p in 1..95 into p - 1 on a read-then-write round trip (p = 0 and
 * 96..255 survive). {@link #NEAREST} rounds {@code (x + 1) * 127.5} to the nearest integer instead
 * and gives every 8-bit value back unchanged; it is not what the reference writes.
 */
public enum PixelRounding {
    /** The reference's conversion: {@code (int) (255f * ((x + 1f) / 2f))} in float32, truncated. */
    TRUNCATE,
    /** {@code round((x + 1) * 127.5)} in double precision, half up: lossless for 8-bit inputs. */
    NEAREST;

    /** The 8-bit value of {@code x}; x is clamped to [-1, 1] first, NaN gives 0. */
    int toUint8(float x) {
        if (!(x >= -1f)) x = -1f;   // below -1 and NaN both give 0
        if (x > 1f) x = 1f;
        return switch (this) {
            case TRUNCATE -> (int) (255f * ((x + 1f) / 2f));
            case NEAREST -> (int) Math.floor((x + 1.0) * 127.5 + 0.5);
        };
    }
}
