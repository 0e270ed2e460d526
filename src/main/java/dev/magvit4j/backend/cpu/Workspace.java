package dev.magvit4j.backend.cpu;

/**
 * Per-thread scratch arrays for a kernel's temporaries that never leave the call (Winograd's
 * transformed tiles, col2im's patch gradients, ...). A fresh Java array is zeroed by the JVM,
 * which for megabytes costs as much as the kernel's own pass over them; a workspace is
 * allocated once per thread and slot, grown on demand, and handed back with unspecified
 * contents, so kernels must write every element they later read.
 *
 * <p>One slot per use site: a kernel that calls another kernel never shares a slot with it.
 * The memory stays with the thread (the largest size seen per slot).
 */
final class Workspace {

    private Workspace() {}

    enum Slot { WINOGRAD_KERNELS, WINOGRAD_TRANSPOSED, WINOGRAD_INPUTS, WINOGRAD_PRODUCTS, WINOGRAD_FLIPPED, COL2IM }

    private static final ThreadLocal<float[][]> SLOTS = ThreadLocal.withInitial(() -> new float[Slot.values().length][]);

    /** A float array of at least {@code size} elements, contents unspecified. */
    static float[] floats(Slot slot, int size) {
        float[][] slots = SLOTS.get();
        float[] a = slots[slot.ordinal()];
        if (a == null || a.length < size) {
            a = new float[size];
            slots[slot.ordinal()] = a;
        }
        return a;
    }
}
