// Linked into libmagvit4j-kernels.so beside the kernels: driver.cpp calls this to make a worker
// thread allocate the library's thread-local block (the kernels' static __shared__ variables),
// then finds the block with dlinfo to poison it before each launch.
thread_local char emu_kernels_tls_anchor_byte;

extern "C" void* emu_kernels_tls_anchor() {
    return &emu_kernels_tls_anchor_byte;
}
