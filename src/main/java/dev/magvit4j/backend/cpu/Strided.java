package dev.magvit4j.backend.cpu;

/**
 * Geometry of a loop over one shape read through several operands' strides (stride 0 for a
 * broadcast dimension). Adjacent dimensions that are contiguous for every operand are merged,
 * so the innermost loop is as long as possible; kernels then run rows of {@link #inner()}
 * elements with per-operand inner strides, and this class gives each row's start offsets.
 */
final class Strided {

    private final int[] shape;      // collapsed shape, at least rank 1
    private final int[][] strides;  // [operand][dim]
    private final int[] offsets;    // per-operand base offset
    private final int rows;

    private Strided(int[] shape, int[][] strides, int[] offsets) {
        this.shape = shape;
        this.strides = strides;
        this.offsets = offsets;
        int r = 1;
        for (int i = 0; i < shape.length - 1; i++) r *= shape[i];
        this.rows = r;
    }

    /** stridesAndOffsets: for each operand its strides (same rank as shape) and base offset. */
    static Strided of(int[] shape, int[][] operandStrides, int[] operandOffsets) {
        int ops = operandStrides.length;
        int[] s = new int[Math.max(shape.length, 1)];
        int[][] st = new int[ops][s.length];
        int rank = 0;
        if (shape.length == 0) {
            s[0] = 1;
            rank = 1;
        } else {
            // Drop size-1 dims, then merge dim i into the previous kept one when contiguous for all.
            for (int d = 0; d < shape.length; d++) {
                if (shape[d] == 1 && shape.length > 1) continue;
                boolean merge = rank > 0;
                for (int k = 0; k < ops && merge; k++) {
                    if (st[k][rank - 1] != operandStrides[k][d] * shape[d]) merge = false;
                }
                if (merge) {
                    s[rank - 1] *= shape[d];
                    for (int k = 0; k < ops; k++) st[k][rank - 1] = operandStrides[k][d];
                } else {
                    s[rank] = shape[d];
                    for (int k = 0; k < ops; k++) st[k][rank] = operandStrides[k][d];
                    rank++;
                }
            }
            if (rank == 0) {
                s[0] = 1;
                rank = 1;
            }
        }
        int[] cs = java.util.Arrays.copyOf(s, rank);
        int[][] cst = new int[ops][];
        for (int k = 0; k < ops; k++) cst[k] = java.util.Arrays.copyOf(st[k], rank);
        return new Strided(cs, cst, operandOffsets.clone());
    }

    int rows() {
        return rows;
    }

    int inner() {
        return shape[shape.length - 1];
    }

    int innerStride(int operand) {
        return strides[operand][shape.length - 1];
    }

    /** Start offset of a row for one operand. */
    int rowOffset(int operand, int row) {
        int o = offsets[operand];
        int[] st = strides[operand];
        for (int d = shape.length - 2; d >= 0 && row > 0; d--) {
            int i = row % shape[d];
            row /= shape[d];
            o += i * st[d];
        }
        return o;
    }
}
