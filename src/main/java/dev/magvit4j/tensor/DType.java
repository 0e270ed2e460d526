package dev.magvit4j.tensor;

/** Element types. Float32 carries all arithmetic; the integer types hold indices and masks. */
public enum DType {
    FLOAT32(4, "float32"),
    INT64(8, "int64"),
    INT32(4, "int32"),
    BOOL(1, "bool");

    public final int bytes;
    public final String pyName;

    DType(int bytes, String pyName) {
        this.bytes = bytes;
        this.pyName = pyName;
    }

    public boolean isFloating() {
        return this == FLOAT32;
    }

    @Override
    public String toString() {
        return pyName;
    }
}
