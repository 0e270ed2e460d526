package dev.magvit4j.tensor;

import java.util.Arrays;

/** Static helpers for shapes and strides (int[] throughout, row-major). */
public final class Shape {

    private Shape() {}

    public static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + str(shape) + " has more than 2^31-1 elements");
        }
        return (int) n;
    }

    /** Row-major strides of a contiguous tensor of this shape. */
    public static int[] contiguousStrides(int[] shape) {
        int[] strides = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    /** Resolves a possibly negative dimension index against a rank, naming both when out of range. */
    public static int dim(int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException("dimension " + dim + " out of range for a tensor of rank " + rank);
        }
        return d;
    }

    /** Resolves a list of dimensions: sorted, unique, non-negative. Empty means all dimensions. */
    public static int[] dims(int[] dims, int rank) {
        if (dims.length == 0) {
            int[] all = new int[rank];
            for (int i = 0; i < rank; i++) all[i] = i;
            return all;
        }
        int[] out = new int[dims.length];
        for (int i = 0; i < dims.length; i++) out[i] = dim(dims[i], rank);
        Arrays.sort(out);
        for (int i = 1; i < out.length; i++) {
            if (out[i] == out[i - 1]) throw new IllegalArgumentException("dimension " + out[i] + " repeated in " + Arrays.toString(dims));
        }
        return out;
    }

    /** NumPy broadcasting of two shapes; the error names both shapes. */
    public static int[] broadcast(int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + str(a) + " and " + str(b) + " cannot be broadcast together (dimension " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    public static boolean sameShape(int[] a, int[] b) {
        return Arrays.equals(a, b);
    }

    /** Shape with the given (sorted, resolved) dims removed, or set to 1 when keepDim. */
    public static int[] reduced(int[] shape, int[] dims, boolean keepDim) {
        int[] out = new int[keepDim ? shape.length : shape.length - dims.length];
        for (int i = 0, j = 0; i < shape.length; i++) {
            boolean r = Arrays.binarySearch(dims, i) >= 0;
            if (keepDim) out[i] = r ? 1 : shape[i];
            else if (!r) out[j++] = shape[i];
        }
        return out;
    }

    /** Resolves one -1 in a reshape target against a known element count. */
    public static int[] infer(int[] shape, int numel) {
        int unknown = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (unknown >= 0) throw new IllegalArgumentException("only one -1 allowed in shape " + str(shape));
                unknown = i;
            } else {
                if (shape[i] < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
                known *= shape[i];
            }
        }
        int[] out = shape.clone();
        if (unknown >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + numel + " elements into " + str(shape));
            }
            out[unknown] = (int) (numel / known);
        } else if (known != numel) {
            throw new IllegalArgumentException("cannot reshape " + numel + " elements into " + str(shape));
        }
        return out;
    }

    public static String str(int[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        return sb.append(']').toString();
    }

    /** Concatenation of int arrays, handy for building shapes. */
    public static int[] concat(int[] a, int... b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
