// Copies and fills: the strided copy behind contiguous(), device-to-device dtype conversion,
// and fill. CPU counterpart: backend/cpu/CpuCopy.java.
#include "common.cuh"

// dst[layout dst, i] = src[layout src, i] for i < n, converting dtype.
extern "C" __global__ void copy_strided(void* dst, Layout dl, int dst_dtype,
                                        const void* src, Layout sl, int src_dtype, int n) {
    FOR_EACH(i, n) {
        int so = layout_offset(sl, i), d = layout_offset(dl, i);
        if (src_dtype == DT_FLOAT32 && dst_dtype == DT_FLOAT32) {
            ((float*) dst)[d] = ((const float*) src)[so];
        } else if (src_dtype == DT_INT64 && dst_dtype == DT_INT64) {
            ((long long*) dst)[d] = ((const long long*) src)[so];
        } else {
            store_from_double(dst, dst_dtype, d, load_as_double(src, src_dtype, so));
        }
    }
}

// Contiguous float copy (the common case of contiguous() on an offset view).
extern "C" __global__ void copy_f32(float* dst, const float* src, int n) {
    FOR_EACH(i, n) dst[i] = src[i];
}

extern "C" __global__ void fill_strided(void* dst, Layout dl, int dtype, double value, int n) {
    FOR_EACH(i, n) store_from_double(dst, dtype, layout_offset(dl, i), value);
}
