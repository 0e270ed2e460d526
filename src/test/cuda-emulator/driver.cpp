// A CUDA driver (libcuda.so.1) that runs the kernels on the CPU: the part of the driver API
// magvit4j and JCuda use, over host memory, with kernels/*.cu compiled for the host (see
// cuda_emulator.h) and launched block by block on a pool of worker threads, each block's
// threads as fibers. It stands in for the NVIDIA driver in the test suite, so the whole GPU
// path (Java -> JCuda -> driver -> kernels) runs on machines without a GPU.
//
// Beyond running the kernels it checks what a GPU would only show as wrong numbers or a crash:
//   - launches: block and grid limits, the kernel's __launch_bounds__ (.maxntid in its PTX),
//     dynamic shared memory against the kernel's limit (48 KiB unless raised), and every pointer
//     argument pointing into a live allocation, aligned for its type;
//   - memory: fresh allocations, static and dynamic shared memory are filled with 0xFF bytes
//     (NaN as floats) before each launch; every allocation sits between 256-byte red zones that
//     are checked after each launch, as is dynamic shared memory past the launched size; copies
//     must stay inside one allocation; misaligned accesses and out-of-range float-to-integer
//     conversions are caught (UBSan's checks, compiled into the kernels, report here);
//   - synchronisation: threads at different __syncthreads, lanes at different warp collectives,
//     collectives over part of a warp or after lanes have exited, and deadlocks; races, by
//     running each block's threads in a shuffled order (seeded: MAGVIT4J_EMULATOR_SEED).
// A launch refused for its configuration fails cuLaunchKernel; a fault while the kernel runs is
// reported, as on a GPU, by the next synchronising call (cuStreamSynchronize, cuCtxSynchronize,
// a copy to the host), with a line on stderr naming the kernel, its block and thread.
#include <cuda.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuda_emulator.h"
#include "registry.h"

// ------------------------------------------------------------------ the emulated device

static const char* const DEVICE_NAME = "magvit4j CUDA emulator (CPU)";
static const int MULTIPROCESSORS = 132;  // an H100 SXM's, so grids are sized as on one
static const int SHARED_DEFAULT = 48 << 10;
static const int SHARED_OPTIN = 232448;  // 227 KiB, the opt-in limit of sm_90
static const size_t RED_ZONE = 256;
static const unsigned char POISON = 0xff;

// `extern __shared__ float smem[];` in the kernels is this buffer: dynamic shared memory.
alignas(16) thread_local float smem[SHARED_OPTIN / 4];

// The device's memory is the host's, so it is sized to leave the host room: a quarter of the
// physical memory, or MAGVIT4J_EMULATOR_MEMORY_MIB. Callers then meet CUDA_ERROR_OUT_OF_MEMORY
// (and magvit4j's allocator empties its cache) instead of the host's out-of-memory killer.
static size_t total_memory() {
    static size_t bytes = [] {
        const char* env = getenv("MAGVIT4J_EMULATOR_MEMORY_MIB");
        if (env) return (size_t) atoll(env) << 20;
        return (size_t) sysconf(_SC_PHYS_PAGES) * (size_t) sysconf(_SC_PAGESIZE) / 4;
    }();
    return bytes;
}

static void report(const std::string& what) {
    fprintf(stderr, "[cuda-emulator] %s\n", what.c_str());
    fflush(stderr);
}

// Whether all `bytes` at p still hold the poison.
static bool untouched(const unsigned char* p, size_t bytes) {
    static unsigned char clean[4096];
    static bool init = (memset(clean, POISON, sizeof clean), true);
    (void) init;
    for (size_t at = 0; at < bytes; at += sizeof clean) {
        if (memcmp(p + at, clean, std::min(sizeof clean, bytes - at)) != 0) return false;
    }
    return true;
}

// ------------------------------------------------------------------ the kernels' libraries

// libmagvit4j-kernels.so beside this library: the kernels as built for the compute_80 PTX; and
// libmagvit4j-kernels-sm_90a.so: the files built again for sm_90a (gemm.cuh on wgmma), where
// build.sh made one. Each library's static __shared__ variables are its whole thread-local
// block (found with dlinfo after tls_anchor.cpp makes a thread allocate it).
struct Library {
    void* handle;
    size_t tls_bytes;
    void* (*tls_anchor)();
};
static const int LIBRARIES = 2;
static const char* const LIBRARY_FILES[LIBRARIES] = {"libmagvit4j-kernels.so", "libmagvit4j-kernels-sm_90a.so"};
static Library libraries[LIBRARIES];
static bool libraries_open = false;

static bool open_library(const std::string& path, Library& lib, bool required) {
    if (!required && access(path.c_str(), F_OK) != 0) return true;
    lib.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle) {
        report(std::string("cannot open the kernels: ") + dlerror());
        return false;
    }
    lib.tls_anchor = (void* (*)()) dlsym(lib.handle, "emu_kernels_tls_anchor");
    struct Find {
        std::string path;
        size_t bytes;
    } find{path, 0};
    dl_iterate_phdr(
            [](struct dl_phdr_info* info, size_t, void* data) {
                Find* f = (Find*) data;
                if (!info->dlpi_name || f->path != info->dlpi_name) return 0;
                for (int i = 0; i < info->dlpi_phnum; i++)
                    if (info->dlpi_phdr[i].p_type == PT_TLS) f->bytes = info->dlpi_phdr[i].p_memsz;
                return 1;
            },
            &find);
    lib.tls_bytes = find.bytes;
    return lib.tls_anchor != nullptr;
}

static bool open_kernels() {
    if (libraries_open) return true;
    Dl_info self;
    if (!dladdr((void*) &open_kernels, &self)) return false;
    std::string dir(self.dli_fname);
    dir = dir.substr(0, dir.rfind('/') + 1);
    for (int i = 0; i < LIBRARIES; i++)
        if (!open_library(dir + LIBRARY_FILES[i], libraries[i], i == 0)) return false;
    libraries_open = true;
    return true;
}

// The calling worker's copy of library i's static shared memory, [block, block + bytes), found
// once per worker (null where that library is absent).
static thread_local unsigned char* static_shared_blocks[LIBRARIES];

static unsigned char* static_shared(int i, size_t* bytes) {
    Library& lib = libraries[i];
    *bytes = lib.tls_bytes;
    if (!lib.handle) return nullptr;
    if (!static_shared_blocks[i]) {
        void* block = nullptr;
        lib.tls_anchor();  // allocates this thread's block on first use
        if (dlinfo(lib.handle, RTLD_DI_TLS_DATA, &block) == 0) static_shared_blocks[i] = (unsigned char*) block;
    }
    return static_shared_blocks[i];
}

// ------------------------------------------------------------------ fibers

// Switches stacks: saves the callee-saved registers on the current stack, stores its pointer in
// *save, and resumes the context whose stack pointer is `load` (System V x86-64 ABI).
extern "C" void emu_switch(void** save, void* load);
asm(R"(
    .text
    .globl emu_switch
    .hidden emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

namespace emu {

thread_local Thread* current_thread;
thread_local uint3 block_idx, block_dim, grid_dim;

struct Kernel {
    std::string name;
    Invoker invoke;
    void* fn;
    std::vector<int> sizes;
    std::vector<int> alignments;
    std::vector<Ranges> ranges;
};

static std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> kernels;
    return kernels;
}

// Keyed by "TARGET/name": the kernel's name prefixed by the PTX target its host build stands
// for ("" for compute_80, "sm_90a" for the second library).
void register_kernel(const char* target, const char* name, Invoker invoke, void* fn, std::vector<int> sizes, std::vector<int> alignments,
                     std::vector<Ranges> ranges) {
    registry()[std::string(target) + "/" + name] = Kernel{name, invoke, fn, std::move(sizes), std::move(alignments), std::move(ranges)};
}

enum State : char { READY, AT_BARRIER, AT_WARP, DONE };

// A wgmma issued and not yet waited for: it runs at the wgmma.wait_group that ends its group.
struct WgmmaOp {
    float* d;  // the issuing thread's 64 accumulators
    uint64_t da, db;
    const unsigned char *a, *b;  // the tiles the descriptors' start addresses count from
    bool bf16;
    long group;  // commit groups are numbered from 0 per thread
};

struct Fiber {
    Thread t;  // first: current_thread points here
    void* sp;
    int lane, warp;
    State state;
    std::vector<WgmmaOp> wgmma;
    long wgmma_groups = 0;  // groups committed so far
    // While a wgmma is in flight its accumulators hold NaN and their values live here.
    std::map<float*, std::vector<float>> wgmma_acc;
};

struct Warp {
    int lanes, live, arrived, words;
    const char* site;  // the collective the lanes that arrived are in
    unsigned phase;
    uint64_t table[2][32][8];  // double-buffered: see warp_share
};

static const size_t STACK_BYTES = 256 << 10;

// One block at a time per worker thread: its fibers, warps and barrier state.
struct Block {
    std::vector<Fiber> fibers;
    std::vector<Warp> warps;
    std::vector<int> order;  // the order threads take turns in (shuffled per block)
    int live = 0, arrived = 0;
    const char* site = nullptr;
    void* scheduler_sp = nullptr;
    const Kernel* kernel = nullptr;
    void** params = nullptr;
    std::string error;
    CUresult code = CUDA_SUCCESS;  // with error: what the fault returns to the caller
    char* stacks = nullptr;
    size_t stack_count = 0;

    ~Block() {
        if (stacks) munmap(stacks, stack_count * STACK_BYTES);
    }

    // Stacks for n fibers, each with an inaccessible guard page below it.
    void reserve(size_t n) {
        if (n <= stack_count) return;
        if (stacks) munmap(stacks, stack_count * STACK_BYTES);
        void* p = mmap(nullptr, n * STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            report("cannot map fiber stacks");
            abort();
        }
        stacks = (char*) p;
        stack_count = n;
        long page = sysconf(_SC_PAGESIZE);
        for (size_t i = 0; i < n; i++) mprotect(stacks + i * STACK_BYTES, page, PROT_NONE);
    }
};

static thread_local Block* block;

static Fiber* self() {
    return (Fiber*) current_thread;
}

static void yield(Fiber* f) {
    emu_switch(&f->sp, block->scheduler_sp);
}

// Ends the block: the launch fails with `code` and the reason, naming the thread.
[[noreturn]] static void fault(CUresult code, const char* what) {
    Block& b = *block;
    Fiber* f = self();
    char where[160];
    snprintf(where, sizeof where, " (thread (%u, %u, %u) of block (%u, %u, %u))", f->t.tid.x, f->t.tid.y, f->t.tid.z, block_idx.x, block_idx.y, block_idx.z);
    b.error = std::string(what) + where;
    b.code = code;
    emu_switch(&f->sp, b.scheduler_sp);  // never resumed
    __builtin_unreachable();
}

void fail(const char* what) {
    fault(CUDA_ERROR_LAUNCH_FAILED, what);
}

int lane() {
    return self()->lane;
}

// Whether [p, p + bytes) lies in this block's shared memory (static or dynamic).
bool in_shared(const void* p, size_t bytes) {
    uintptr_t a = (uintptr_t) p;
    for (int i = 0; i < LIBRARIES; i++) {
        size_t n;
        unsigned char* s = static_shared(i, &n);
        if (s && a >= (uintptr_t) s && a + bytes <= (uintptr_t) s + n) return true;
    }
    return a >= (uintptr_t) smem && a + bytes <= (uintptr_t) smem + sizeof smem;
}

static void release_block(Block& b) {
    for (Fiber& f : b.fibers)
        if (f.state == AT_BARRIER) f.state = READY;
    b.arrived = 0;
}

static void release_warp(Block& b, int w) {
    Warp& warp = b.warps[w];
    for (int l = 0; l < warp.lanes; l++) {
        Fiber& f = b.fibers[32 * w + l];
        if (f.state == AT_WARP) f.state = READY;
    }
    warp.arrived = 0;
    warp.phase++;
}

void syncthreads(const char* site) {
    Block& b = *block;
    Fiber* f = self();
    if (b.arrived == 0) {
        b.site = site;
    } else if (b.site != site && strcmp(b.site, site) != 0) {
        fail(("threads of one block wait at different barriers: __syncthreads at " + std::string(b.site) + " and at " + site).c_str());
    }
    f->state = AT_BARRIER;
    if (++b.arrived == b.live) {
        release_block(b);  // the last to arrive goes on at once
    } else {
        yield(f);
    }
}

// Lanes write into table[phase & 1] and read it after the barrier. The next collective writes
// the other half; the one after that writes this half again only once every lane has reached
// the barrier in between, that is, after every lane has finished reading.
const uint64_t (*warp_share(const char* site, unsigned mask, const uint64_t* mine, int words))[8] {
    Block& b = *block;
    Fiber* f = self();
    Warp& w = b.warps[f->warp];
    unsigned all = w.lanes == 32 ? 0xffffffffu : (1u << w.lanes) - 1;
    if (mask != all) {
        char msg[160];
        snprintf(msg, sizeof msg, "warp collective with mask 0x%08x in a warp of %d lanes: the emulator runs only whole-warp collectives", mask, w.lanes);
        fail(msg);
    }
    if (w.live != w.lanes) fail("warp collective after lanes of the warp have exited");
    if (w.arrived == 0) {
        w.words = words;
        w.site = site;
    } else if (w.words != words || (w.site != site && strcmp(w.site, site) != 0)) {
        fail(("lanes of one warp are in different warp collectives: " + std::string(w.site) + " and " + site).c_str());
    }
    int half = w.phase & 1;
    if (words > 0) memcpy(w.table[half][f->lane], mine, words * sizeof(uint64_t));
    f->state = AT_WARP;
    if (++w.arrived == w.live) {
        release_warp(b, f->warp);
    } else {
        yield(f);
    }
    return w.table[half];
}

// ------------------------------------------------------------------ wgmma (PTX ISA 9.7.15)

// Element (row, k) of an operand in the canonical K-major layout without swizzling: core matrices
// of 8 rows x 16 bytes, 8-row groups SBO apart, 16-byte columns of k LBO apart (9.7.15.5.1.2).
static float wgmma_element(const unsigned char* tile, uint64_t desc, int row, int k, bool bf16) {
    if ((desc >> 62) != 0 || ((desc >> 49) & 7) != 0) fail("wgmma: the emulator runs only unswizzled operands (swizzle mode and base offset 0)");
    unsigned start = (unsigned) (desc & 0x3FFF) << 4, lbo = (unsigned) ((desc >> 16) & 0x3FFF) << 4, sbo = (unsigned) ((desc >> 32) & 0x3FFF) << 4;
    int size = bf16 ? 2 : 4, per = 16 / size;
    const unsigned char* p = tile + start + (row / 8) * sbo + (row % 8) * 16 + (k / per) * lbo + (k % per) * size;
    if (!in_shared(p, size)) fail("wgmma: an operand element lies outside shared memory");
    if (bf16) {
        uint16_t h;
        memcpy(&h, p, 2);
        return bits_float((unsigned) h << 16);
    }
    unsigned u;
    memcpy(&u, p, 4);
    return bits_float(u & ~0x1fffu);  // tf32: the low 13 bits are ignored
}

// d += A · B, m64n128 with k = 16 bf16 or 8 tf32, for the accumulators of thread i of its
// warpgroup: d[4j + c] = (16 (i / 32) + g + 8 (c / 2), 8 j + 2 t + c % 2), g = i % 32 / 4,
// t = i % 4 (9.7.15.5.1.1). Products are exact in float; the sum is taken in k order.
static void wgmma_run(Fiber* f, const WgmmaOp& op, float* d) {
    int i = (int) (f - block->fibers.data()) % 128, lane = i % 32, g = lane / 4, t = lane % 4, K = op.bf16 ? 16 : 8;
    float a[2][16], b[32][16];
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < K; k++) a[h][k] = wgmma_element(op.a, op.da, 16 * (i / 32) + g + 8 * h, k, op.bf16);
    for (int n = 0; n < 32; n++)
        for (int k = 0; k < K; k++) b[n][k] = wgmma_element(op.b, op.db, 8 * (n / 2) + 2 * t + n % 2, k, op.bf16);
    for (int j = 0; j < 16; j++) {
        for (int c = 0; c < 4; c++) {
            float acc = d[4 * j + c];
            for (int k = 0; k < K; k++) acc += a[c / 2][k] * b[2 * j + c % 2][k];
            d[4 * j + c] = acc;
        }
    }
}

void wgmma_m64n128(float* d, uint64_t da, uint64_t db, const unsigned char* a, const unsigned char* b, bool bf16) {
    Block& blk = *block;
    if (blk.fibers.size() % 128 != 0) fail("wgmma in a block that is not a whole number of warpgroups (128 threads)");
    uint64_t mine[2] = {da, db};
    const uint64_t (*all)[8] = warp_share("wgmma.mma_async", 0xffffffffu, mine, 2);
    for (int l = 0; l < 32; l++)
        if (all[l][0] != da || all[l][1] != db) fail("wgmma: lanes of one warp give different matrix descriptors");
    Fiber* f = self();
    if (!f->wgmma_acc.count(d)) {  // the accumulators go in flight: their registers read NaN until the wait
        f->wgmma_acc[d].assign(d, d + 64);
        for (int r = 0; r < 64; r++) d[r] = bits_float(0xffffffffu);
    }
    f->wgmma.push_back(WgmmaOp{d, da, db, a, b, bf16, f->wgmma_groups});
}

void wgmma_commit() {
    self()->wgmma_groups++;
}

// Runs, in issue order, the wgmma of every committed group but the newest n; accumulators with
// nothing left in flight get their values back.
void wgmma_wait(int n) {
    Fiber* f = self();
    size_t done = 0;
    while (done < f->wgmma.size() && f->wgmma[done].group < f->wgmma_groups - n) {
        const WgmmaOp& op = f->wgmma[done++];
        wgmma_run(f, op, f->wgmma_acc[op.d].data());
    }
    f->wgmma.erase(f->wgmma.begin(), f->wgmma.begin() + done);
    for (auto it = f->wgmma_acc.begin(); it != f->wgmma_acc.end();) {
        bool busy = false;
        for (const WgmmaOp& op : f->wgmma) busy |= op.d == it->first;
        if (busy) {
            ++it;
        } else {
            std::copy(it->second.begin(), it->second.end(), it->first);
            it = f->wgmma_acc.erase(it);
        }
    }
}

static void finish(Fiber* f) {
    Block& b = *block;
    Warp& w = b.warps[f->warp];
    if (!f->wgmma.empty()) fail("a thread exited with wgmma not waited for (wgmma.wait_group)");
    f->state = DONE;
    b.live--;
    w.live--;
    if (w.arrived > 0) fail("a lane exited while the rest of its warp waits in a warp collective");
    if (b.arrived > 0 && b.arrived == b.live) release_block(b);
}

[[noreturn]] static void fiber_main() {
    Block& b = *block;
    Fiber* f = self();
    b.kernel->invoke(b.kernel->fn, b.params);
    finish(f);
    emu_switch(&f->sp, b.scheduler_sp);  // never resumed
    __builtin_unreachable();
}

// A fresh stack that emu_switch "returns" into fiber_main with the ABI's alignment.
static void* fresh_stack(char* base) {
    uintptr_t top = ((uintptr_t) base + STACK_BYTES) & ~(uintptr_t) 15;
    uint64_t* sp = (uint64_t*) (top - 64);
    for (int i = 0; i < 6; i++) sp[i] = 0;  // r15, r14, r13, r12, rbx, rbp
    sp[6] = (uint64_t) (uintptr_t) &fiber_main;
    sp[7] = 0;
    return sp;
}

static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Runs one block to the end; false (with the reason in b.error) when it failed. Between two
// barriers each thread runs until it blocks, the threads taking turns in an order shuffled from
// `seed`: a race whose outcome depends on which thread goes first then shows in the results
// (and a failure repeats with the same seed, launch and block).
static bool run_block(Block& b, const Kernel* k, void** params, uint3 dim, uint64_t seed) {
    int n = dim.x * dim.y * dim.z;
    b.reserve(n);
    b.fibers.assign(n, Fiber{});
    b.warps.assign((n + 31) / 32, Warp{});
    for (int i = 0; i < n; i++) {
        Fiber& f = b.fibers[i];
        f.t.tid = {(unsigned) (i % dim.x), (unsigned) (i / dim.x % dim.y), (unsigned) (i / (dim.x * dim.y))};
        f.lane = i % 32;
        f.warp = i / 32;
        f.state = READY;
        f.sp = fresh_stack(b.stacks + (size_t) i * STACK_BYTES);
    }
    for (size_t w = 0; w < b.warps.size(); w++) {
        b.warps[w].lanes = b.warps[w].live = std::min(32, n - 32 * (int) w);
    }
    b.order.resize(n);
    for (int i = 0; i < n; i++) b.order[i] = i;
    for (int i = n - 1; i > 0; i--) std::swap(b.order[i], b.order[splitmix(seed) % (uint64_t) (i + 1)]);
    b.live = n;
    b.arrived = 0;
    b.kernel = k;
    b.params = params;
    b.error.clear();
    b.code = CUDA_SUCCESS;
    block = &b;
    struct Reset {
        ~Reset() { current_thread = nullptr; }
    } reset;
    while (b.live > 0) {
        bool ran = false;
        for (int j = 0; j < n; j++) {
            Fiber& f = b.fibers[b.order[j]];
            if (f.state != READY) continue;
            current_thread = &f.t;
            emu_switch(&b.scheduler_sp, f.sp);
            ran = true;
            if (!b.error.empty()) return false;
        }
        if (!ran) {
            int at_barrier = 0, at_warp = 0;
            for (Fiber& f : b.fibers) {
                at_barrier += f.state == AT_BARRIER;
                at_warp += f.state == AT_WARP;
            }
            b.code = CUDA_ERROR_LAUNCH_FAILED;
            b.error = "deadlock: " + std::to_string(at_barrier) + " threads wait at __syncthreads (" + (b.site ? b.site : "?") + "), " + std::to_string(at_warp) +
                      " in warp collectives, " + std::to_string(b.live - at_barrier - at_warp) + " others";
            return false;
        }
    }
    return true;
}

}  // namespace emu

// ------------------------------------------------------------------ worker pool

// The blocks of one launch, taken by the workers in order of their linear index.
struct Launch {
    const emu::Kernel* kernel;
    void** params;
    uint3 grid, dim;
    unsigned shared_bytes;
    long blocks;
    uint64_t seed;  // of the thread orders: the run's seed and the launch's number
    std::atomic<long> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_lock;
    std::string error;
    CUresult code = CUDA_SUCCESS;

    void failure(CUresult c, const std::string& why) {
        std::lock_guard<std::mutex> g(error_lock);
        if (!failed.exchange(true)) {
            code = c;
            error = why;
        }
    }
};

class Pool {
  public:
    Pool() {
        const char* env = getenv("MAGVIT4J_EMULATOR_THREADS");
        int n = env ? atoi(env) : (int) std::thread::hardware_concurrency();
        if (n < 1) n = 1;
        for (int i = 0; i < n; i++) threads.emplace_back([this] { work(); });
    }

    // Runs every block of the launch; l.code and l.error then say how the first failure went.
    void run(Launch& l) {
        std::unique_lock<std::mutex> lock(m);
        job = &l;
        busy = (int) threads.size();
        generation++;
        wake.notify_all();
        done.wait(lock, [this] { return busy == 0; });
        job = nullptr;
    }

  private:
    std::vector<std::thread> threads;
    std::mutex m;
    std::condition_variable wake, done;
    Launch* job = nullptr;
    int busy = 0;
    unsigned long generation = 0;

    void work() {
        emu::Block b;
        unsigned long seen = 0;
        for (;;) {
            Launch* l;
            {
                std::unique_lock<std::mutex> lock(m);
                wake.wait(lock, [&] { return generation != seen; });
                seen = generation;
                l = job;
            }
            emu::block_dim = l->dim;
            emu::grid_dim = l->grid;
            // Shared memory starts each launch as NaN: the kernels' static __shared__ (their
            // library's thread-local block) and, for a launch with dynamic shared memory (only
            // such a launch's kernel declares it), all of the dynamic buffer.
            for (int i = 0; i < LIBRARIES; i++) {
                size_t static_bytes = 0;
                unsigned char* static_block = static_shared(i, &static_bytes);
                if (static_block) memset(static_block, POISON, static_bytes);
            }
            if (l->shared_bytes > 0) memset(smem, POISON, sizeof smem);
            for (long i; !l->failed && (i = l->next++) < l->blocks;) {
                emu::block_idx = {(unsigned) (i % l->grid.x), (unsigned) (i / l->grid.x % l->grid.y), (unsigned) (i / ((long) l->grid.x * l->grid.y))};
                memset(smem, POISON, l->shared_bytes);
                uint64_t seed = l->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t) (i + 1));
                if (!emu::run_block(b, l->kernel, l->params, l->dim, seed)) l->failure(b.code, b.error);
            }
            // Past the launched size the dynamic buffer must still be untouched.
            if (l->shared_bytes > 0 && !untouched((const unsigned char*) smem + l->shared_bytes, sizeof smem - l->shared_bytes)) {
                l->failure(CUDA_ERROR_ILLEGAL_ADDRESS, "wrote dynamic shared memory past the " + std::to_string(l->shared_bytes) + " bytes launched with");
            }
            std::lock_guard<std::mutex> lock(m);
            if (--busy == 0) done.notify_all();
        }
    }
};

static Pool& pool() {
    static Pool* p = new Pool();  // never destroyed: its threads outlive static destruction
    return *p;
}

// ------------------------------------------------------------------ memory

struct Allocation {
    size_t bytes;
    bool host;  // cuMemAllocHost: page-locked host memory, also addressable by kernels
};

static std::mutex memory_lock;
static std::map<uintptr_t, Allocation> allocations;  // by the address handed out
static size_t allocated = 0;

static uintptr_t allocate(size_t bytes, bool host) {
    size_t total = RED_ZONE + ((bytes + 255) & ~(size_t) 255) + RED_ZONE;
    unsigned char* raw = (unsigned char*) aligned_alloc(256, total);
    if (!raw) return 0;
    memset(raw, POISON, total);
    uintptr_t p = (uintptr_t) raw + RED_ZONE;
    std::lock_guard<std::mutex> g(memory_lock);
    allocations[p] = Allocation{bytes, host};
    if (!host) allocated += bytes;
    return p;
}

static CUresult release(uintptr_t p, bool host) {
    std::lock_guard<std::mutex> g(memory_lock);
    auto it = allocations.find(p);
    if (it == allocations.end() || it->second.host != host) {
        char msg[120];
        snprintf(msg, sizeof msg, "free of 0x%lx, which is not a live %s allocation", (unsigned long) p, host ? "pinned host" : "device");
        report(msg);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!host) allocated -= it->second.bytes;
    allocations.erase(it);
    free((void*) (p - RED_ZONE));
    return CUDA_SUCCESS;
}

// The allocation holding [p, p + bytes), or null.
static const Allocation* holding(uintptr_t p, size_t bytes, uintptr_t* base) {
    std::lock_guard<std::mutex> g(memory_lock);
    auto it = allocations.upper_bound(p);
    if (it == allocations.begin()) return nullptr;
    --it;
    if (p + bytes > it->first + it->second.bytes) return nullptr;
    *base = it->first;
    return &it->second;
}

static CUresult check_range(uintptr_t p, size_t bytes, const char* call) {
    uintptr_t base;
    if (holding(p, bytes, &base)) return CUDA_SUCCESS;
    char msg[200];
    snprintf(msg, sizeof msg, "%s: device range [0x%lx, +%zu) is not inside one allocation", call, (unsigned long) p, bytes);
    report(msg);
    return CUDA_ERROR_INVALID_VALUE;
}

// The first of the given allocations (a launch's pointer arguments: the memory its kernel can
// reach) whose red zones are no longer intact, described; "" when all are.
static std::string damaged_red_zone(const std::vector<uintptr_t>& reached) {
    std::lock_guard<std::mutex> g(memory_lock);
    for (uintptr_t base : reached) {
        auto it = allocations.find(base);
        if (it == allocations.end()) continue;
        uintptr_t p = it->first;
        const Allocation& a = it->second;
        const unsigned char* before = (const unsigned char*) (p - RED_ZONE);
        const unsigned char* after = (const unsigned char*) (p + a.bytes);
        size_t after_bytes = RED_ZONE + (((a.bytes + 255) & ~(size_t) 255) - a.bytes);
        bool front = !untouched(before, RED_ZONE), back = !untouched(after, after_bytes);
        if (!front && !back) continue;
        char msg[200];
        snprintf(msg, sizeof msg, "wrote %s the %zu-byte allocation at 0x%lx", front ? "before the start of" : "past the end of", a.bytes, (unsigned long) p);
        memset((void*) (p - RED_ZONE), POISON, RED_ZONE);  // reported once
        memset((void*) after, POISON, after_bytes);
        return msg;
    }
    return "";
}

// ------------------------------------------------------------------ modules

// A kernel as its PTX declares it, joined with its host build.
struct Function {
    std::string name;
    std::vector<int> param_bytes;
    int max_threads = 1024;  // .maxntid, from __launch_bounds__
    int max_dynamic_shared = SHARED_DEFAULT;
    const emu::Kernel* kernel = nullptr;
};

struct Module {
    std::string target;  // "sm_90a" for architecture-specific PTX, else "" (see register_kernel)
    std::map<std::string, Function> functions;
};

// Byte size of one PTX parameter declaration such as ".param .u64 .ptr .align 1 k_param_0" or
// ".param .align 4 .b8 k_param_1[72]".
static int param_bytes(const std::string& decl) {
    int unit = 0;
    size_t pos = 0;
    while ((pos = decl.find('.', pos)) != std::string::npos) {
        char kind = pos + 1 < decl.size() ? decl[pos + 1] : 0;
        if ((kind == 'u' || kind == 's' || kind == 'f' || kind == 'b') && pos + 2 < decl.size() && isdigit((unsigned char) decl[pos + 2])) {
            unit = atoi(decl.c_str() + pos + 2) / 8;
            break;
        }
        pos++;
    }
    size_t bracket = decl.find('[');
    return bracket == std::string::npos ? unit : unit * atoi(decl.c_str() + bracket + 1);
}

static CUresult parse_ptx(const char* text, Module& m) {
    std::string ptx(text);
    size_t target = ptx.find("\n.target ");
    if (target != std::string::npos && ptx.compare(target + 9, 7, "sm_90a\n") == 0) m.target = "sm_90a";
    size_t pos = 0;
    while ((pos = ptx.find(".entry ", pos)) != std::string::npos) {
        pos += 7;
        size_t open = ptx.find('(', pos), close = ptx.find(')', open);
        if (open == std::string::npos || close == std::string::npos) return CUDA_ERROR_INVALID_PTX;
        Function f;
        f.name = ptx.substr(pos, open - pos);
        while (!f.name.empty() && isspace((unsigned char) f.name.back())) f.name.pop_back();
        std::string params = ptx.substr(open + 1, close - open - 1);
        size_t p = 0;
        while ((p = params.find(".param", p)) != std::string::npos) {
            size_t end = params.find(',', p);
            f.param_bytes.push_back(param_bytes(params.substr(p + 6, end == std::string::npos ? std::string::npos : end - p - 6)));
            p += 6;
        }
        size_t body = ptx.find('{', close);
        std::string directives = ptx.substr(close, body - close);
        size_t ntid = directives.find(".maxntid");
        if (ntid != std::string::npos) {
            int x = 1, y = 1, z = 1;
            sscanf(directives.c_str() + ntid + 8, " %d , %d , %d", &x, &y, &z);
            f.max_threads = x * y * z;
        }
        m.functions[f.name] = f;
        pos = close;
    }
    return m.functions.empty() ? CUDA_ERROR_INVALID_PTX : CUDA_SUCCESS;
}

// ------------------------------------------------------------------ the driver API

struct Event {
    std::chrono::steady_clock::time_point at;
};

static bool initialized = false;
static int context_token, stream_token;
static std::mutex launch_lock;  // one stream, in issue order
static uint64_t launches = 0;   // numbers each launch, for its thread orders
static uint64_t run_seed = [] {
    const char* env = getenv("MAGVIT4J_EMULATOR_SEED");
    return env ? strtoull(env, nullptr, 0) : 0ull;
}();

// A fault in a kernel, kept for the next synchronising call (as a GPU reports it).
static CUresult pending_fault = CUDA_SUCCESS;

static CUresult take_fault() {
    std::lock_guard<std::mutex> g(launch_lock);
    CUresult rc = pending_fault;
    pending_fault = CUDA_SUCCESS;
    return rc;
}

extern "C" {

CUresult cuInit(unsigned int) {
    if (!open_kernels()) return CUDA_ERROR_SHARED_OBJECT_INIT_FAILED;
    initialized = true;
    return CUDA_SUCCESS;
}

// The CUDA version the driver reports: that of the cuda.h it was built with, or
// MAGVIT4J_EMULATOR_DRIVER_VERSION (e.g. 11080 for a CUDA 11.8 driver), to test how an old driver
// is met. Like a real driver it refuses PTX of a later ISA (cuModuleLoadData).
static int driver_version() {
    static const int version = [] {
        const char* env = getenv("MAGVIT4J_EMULATOR_DRIVER_VERSION");
        return env ? atoi(env) : CUDA_VERSION;
    }();
    return version;
}

// The CUDA release that introduced PTX ISA x.y, from the image's .version line (as Cuda.java's
// requiredDriverVersion): 7.x with 11.x and 8.0-8.5 with 12.0-12.5, 8.6-8.8 with 12.7-12.9, 9.0
// with 13.0; 0 when the line is missing.
static int ptx_cuda_version(const char* ptx) {
    const char* v = strstr(ptx, "\n.version ");
    int major = 0, minor = 0;
    if (!v || sscanf(v + 10, "%d.%d", &major, &minor) != 2) return 0;
    if (major == 8 && minor >= 6) return 12000 + (minor + 1) * 10;
    return (major + 4) * 1000 + minor * 10;
}

CUresult cuDriverGetVersion(int* version) {
    *version = driver_version();
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int* count) {
    if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
    if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice device) {
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    snprintf(name, len, "%s", DEVICE_NAME);
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem(size_t* bytes, CUdevice device) {
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    *bytes = total_memory();
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice device) {
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    switch (attribute) {
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
        case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *value = 1024; break;
        case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *value = 1024; break;
        case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *value = 64; break;
        case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *value = 2147483647; break;
        case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: *value = 65535; break;
        case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *value = 65535; break;
        case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *value = SHARED_DEFAULT; break;
        case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *value = SHARED_OPTIN; break;
        case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *value = 233472; break;
        case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
        case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *value = 65536; break;
        case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: *value = 65536; break;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = MULTIPROCESSORS; break;
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *value = 2048; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 9; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; break;
        case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *value = 50 << 20; break;
        case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: *value = 1; break;
        default: {
            report("cuDeviceGetAttribute: attribute " + std::to_string((int) attribute) + " is not emulated");
            return CUDA_ERROR_INVALID_VALUE;
        }
    }
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice device) {
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    *context = (CUcontext) &context_token;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease(CUdevice device) {
    return device == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult cuCtxSetCurrent(CUcontext context) {
    return context == nullptr || context == (CUcontext) &context_token ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult cuCtxGetCurrent(CUcontext* context) {
    *context = (CUcontext) &context_token;
    return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize() {
    return take_fault();
}

CUresult cuStreamCreate(CUstream* stream, unsigned int) {
    *stream = (CUstream) &stream_token;
    return CUDA_SUCCESS;
}

CUresult cuStreamDestroy(CUstream) {
    return CUDA_SUCCESS;
}

// Work runs when it is issued, so a stream is always idle; a fault of that work shows here.
CUresult cuStreamSynchronize(CUstream) {
    return take_fault();
}

CUresult cuMemAlloc(CUdeviceptr* p, size_t bytes) {
    if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    {
        std::lock_guard<std::mutex> g(memory_lock);
        if (allocated + bytes > total_memory()) return CUDA_ERROR_OUT_OF_MEMORY;
    }
    uintptr_t a = allocate(bytes, false);
    if (!a) return CUDA_ERROR_OUT_OF_MEMORY;
    *p = (CUdeviceptr) a;
    return CUDA_SUCCESS;
}

CUresult cuMemFree(CUdeviceptr p) {
    return release((uintptr_t) p, false);
}

CUresult cuMemAllocHost(void** p, size_t bytes) {
    if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    uintptr_t a = allocate(bytes, true);
    if (!a) return CUDA_ERROR_OUT_OF_MEMORY;
    *p = (void*) a;
    return CUDA_SUCCESS;
}

CUresult cuMemFreeHost(void* p) {
    return release((uintptr_t) p, true);
}

// Only CU_POINTER_ATTRIBUTE_DEVICE_POINTER: the address itself, for an address inside a live allocation.
CUresult cuPointerGetAttribute(void* data, CUpointer_attribute attribute, CUdeviceptr ptr) {
    if (attribute != CU_POINTER_ATTRIBUTE_DEVICE_POINTER) {
        report("cuPointerGetAttribute: only CU_POINTER_ATTRIBUTE_DEVICE_POINTER is emulated, asked for " + std::to_string((int) attribute));
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    uintptr_t base;
    if (!holding(ptr, 0, &base)) return CUDA_ERROR_INVALID_VALUE;
    *(CUdeviceptr*) data = ptr;
    return CUDA_SUCCESS;
}

CUresult cuMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
    std::lock_guard<std::mutex> g(memory_lock);
    *free_bytes = total_memory() - allocated;
    *total_bytes = total_memory();
    return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD(CUdeviceptr dst, const void* src, size_t bytes) {
    CUresult rc = check_range(dst, bytes, "cuMemcpyHtoD");
    if (rc == CUDA_SUCCESS && bytes) memcpy((void*) dst, src, bytes);
    return rc;
}

CUresult cuMemcpyDtoH(void* dst, CUdeviceptr src, size_t bytes) {
    CUresult rc = take_fault();
    if (rc != CUDA_SUCCESS) return rc;
    rc = check_range(src, bytes, "cuMemcpyDtoH");
    if (rc == CUDA_SUCCESS && bytes) memcpy(dst, (const void*) src, bytes);
    return rc;
}

CUresult cuMemcpyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
    CUresult rc = check_range(src, bytes, "cuMemcpyDtoD (source)");
    if (rc == CUDA_SUCCESS) rc = check_range(dst, bytes, "cuMemcpyDtoD (destination)");
    if (rc == CUDA_SUCCESS && bytes && dst < src + bytes && src < dst + bytes) {  // undefined on a GPU
        report("cuMemcpyDtoD: source and destination overlap");
        rc = CUDA_ERROR_INVALID_VALUE;
    }
    if (rc == CUDA_SUCCESS && bytes) memcpy((void*) dst, (const void*) src, bytes);
    return rc;
}

CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void* src, size_t bytes, CUstream) {
    return cuMemcpyHtoD(dst, src, bytes);
}

CUresult cuMemcpyDtoHAsync(void* dst, CUdeviceptr src, size_t bytes, CUstream) {
    return cuMemcpyDtoH(dst, src, bytes);
}

CUresult cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream) {
    return cuMemcpyDtoD(dst, src, bytes);
}

CUresult cuMemsetD8(CUdeviceptr dst, unsigned char value, size_t bytes) {
    CUresult rc = check_range(dst, bytes, "cuMemsetD8");
    if (rc == CUDA_SUCCESS && bytes) memset((void*) dst, value, bytes);
    return rc;
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t bytes, CUstream) {
    return cuMemsetD8(dst, value, bytes);
}

CUresult cuMemsetD32(CUdeviceptr dst, unsigned int value, size_t count) {
    CUresult rc = check_range(dst, count * 4, "cuMemsetD32");
    if (rc == CUDA_SUCCESS)
        for (size_t i = 0; i < count; i++) ((unsigned*) dst)[i] = value;
    return rc;
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count, CUstream) {
    return cuMemsetD32(dst, value, count);
}

CUresult cuModuleLoadData(CUmodule* module, const void* image) {
    if (ptx_cuda_version((const char*) image) > driver_version()) return CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
    Module* m = new Module();
    CUresult rc = parse_ptx((const char*) image, *m);
    if (rc != CUDA_SUCCESS) {
        report("cuModuleLoadData: no .entry found: the image is not PTX text");
        delete m;
        return rc;
    }
    for (auto& [name, f] : m->functions) {
        auto it = emu::registry().find(m->target + "/" + name);
        if (it == emu::registry().end()) continue;  // reported if it is ever asked for
        f.kernel = &it->second;
        if (f.kernel->sizes != f.param_bytes) {
            report("cuModuleLoadData: the host build of " + name + " takes other parameters than its PTX: rebuild the emulator");
            delete m;
            return CUDA_ERROR_INVALID_IMAGE;
        }
    }
    *module = (CUmodule) m;
    return CUDA_SUCCESS;
}

CUresult cuModuleLoadDataEx(CUmodule* module, const void* image, unsigned int, CUjit_option*, void**) {
    return cuModuleLoadData(module, image);
}

CUresult cuModuleUnload(CUmodule module) {
    delete (Module*) module;
    return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction* function, CUmodule module, const char* name) {
    Module* m = (Module*) module;
    auto it = m->functions.find(name);
    if (it == m->functions.end()) return CUDA_ERROR_NOT_FOUND;
    if (!it->second.kernel) {
        report(std::string("cuModuleGetFunction: ") + name + " is in the PTX but not in the emulator's host build: rebuild the emulator");
        return CUDA_ERROR_NOT_FOUND;
    }
    *function = (CUfunction) &it->second;
    return CUDA_SUCCESS;
}

CUresult cuFuncSetAttribute(CUfunction function, CUfunction_attribute attribute, int value) {
    Function* f = (Function*) function;
    if (attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) {
        report("cuFuncSetAttribute: attribute " + std::to_string((int) attribute) + " is not emulated");
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (value < 0 || value > SHARED_OPTIN) return CUDA_ERROR_INVALID_VALUE;
    f->max_dynamic_shared = value;
    return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction function, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz,
                        unsigned int shared_bytes, CUstream, void** params, void** extra) {
    Function* f = (Function*) function;
    auto refuse = [&](const std::string& why, CUresult rc) {
        report("cuLaunchKernel(" + f->name + "): " + why);
        return rc;
    };
    long threads = (long) bx * by * bz;
    if (gx == 0 || gy == 0 || gz == 0 || threads == 0) return refuse("an empty grid or block", CUDA_ERROR_INVALID_VALUE);
    if (bx > 1024 || by > 1024 || bz > 64 || threads > 1024) return refuse("a block of more than 1024 threads", CUDA_ERROR_INVALID_VALUE);
    if (gx > 2147483647u || gy > 65535 || gz > 65535) return refuse("grid dimensions over the limits", CUDA_ERROR_INVALID_VALUE);
    if (threads > f->max_threads) {
        return refuse("block of " + std::to_string(threads) + " threads, but __launch_bounds__ allows " + std::to_string(f->max_threads), CUDA_ERROR_INVALID_VALUE);
    }
    if (shared_bytes > (unsigned) f->max_dynamic_shared) {
        return refuse(std::to_string(shared_bytes) + " bytes of dynamic shared memory, over the kernel's limit of " + std::to_string(f->max_dynamic_shared) +
                              " (raise it with cuFuncSetAttribute)",
                      CUDA_ERROR_INVALID_VALUE);
    }
    if (extra) return refuse("parameters through `extra` are not emulated", CUDA_ERROR_NOT_SUPPORTED);
    const emu::Kernel* k = f->kernel;
    if (!k->sizes.empty() && !params) return refuse("no kernelParams", CUDA_ERROR_INVALID_VALUE);
    std::vector<uintptr_t> reached;
    for (size_t i = 0; i < k->sizes.size(); i++) {
        if (!k->alignments[i]) continue;  // not a pointer
        uintptr_t p = *(uintptr_t*) params[i], base = 0;
        char msg[160];
        if (p != 0 && !holding(p, 0, &base)) {
            snprintf(msg, sizeof msg, "argument %zu (0x%lx) points into no live allocation", i, (unsigned long) p);
            return refuse(msg, CUDA_ERROR_ILLEGAL_ADDRESS);
        }
        if (p % k->alignments[i] != 0) {
            snprintf(msg, sizeof msg, "argument %zu (0x%lx) is not aligned to the %d bytes of its type", i, (unsigned long) p, k->alignments[i]);
            return refuse(msg, CUDA_ERROR_MISALIGNED_ADDRESS);
        }
        if (p != 0) reached.push_back(base);
    }
    for (size_t i = 0; i < k->sizes.size(); i++) {  // addresses inside struct arguments
        if (!k->ranges[i]) continue;
        std::vector<emu::Range> ranges;
        k->ranges[i](params[i], ranges);
        for (const emu::Range& r : ranges) {
            uintptr_t base = 0;
            char msg[200];
            if (!holding(r.p, r.bytes, &base)) {
                snprintf(msg, sizeof msg, "argument %zu carries the range [0x%lx, +%zu), which is not inside one live allocation", i, (unsigned long) r.p, r.bytes);
                return refuse(msg, CUDA_ERROR_ILLEGAL_ADDRESS);
            }
            if (r.p % r.align != 0) {
                snprintf(msg, sizeof msg, "argument %zu carries the address 0x%lx, not aligned to %d bytes", i, (unsigned long) r.p, r.align);
                return refuse(msg, CUDA_ERROR_MISALIGNED_ADDRESS);
            }
            reached.push_back(base);
        }
    }
    // MAGVIT4J_EMULATOR_SKIP_KERNELS: a launch is checked (and refused) as always, but not run,
    // so the host's side of launching can be timed (benchmarks/.../jmh/Launches.java).
    static const bool skip = getenv("MAGVIT4J_EMULATOR_SKIP_KERNELS") != nullptr;
    if (skip) return CUDA_SUCCESS;
    std::lock_guard<std::mutex> g(launch_lock);
    Launch l;
    l.kernel = k;
    l.params = params;
    l.grid = {gx, gy, gz};
    l.dim = {bx, by, bz};
    l.shared_bytes = shared_bytes;
    l.blocks = (long) gx * gy * gz;
    l.seed = run_seed ^ (0xd1b54a32d192ed03ull * ++launches);
    pool().run(l);
    std::string damage = damaged_red_zone(reached);
    if (!l.failed && !damage.empty()) l.failure(CUDA_ERROR_ILLEGAL_ADDRESS, damage);
    if (l.failed) {  // reported now, returned by the next synchronising call
        report("kernel " + f->name + " failed: " + l.error);
        if (pending_fault == CUDA_SUCCESS) pending_fault = l.code;
    }
    return CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent* event, unsigned int) {
    *event = (CUevent) new Event();
    return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream) {
    ((Event*) event)->at = std::chrono::steady_clock::now();
    return CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent) {
    return take_fault();
}

CUresult cuEventQuery(CUevent) {
    return CUDA_SUCCESS;
}

CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
    *ms = std::chrono::duration<float, std::milli>(((Event*) end)->at - ((Event*) start)->at).count();
    return CUDA_SUCCESS;
}

// CUDA 13's cuda.h names this cuEventElapsedTime_v2; drivers keep the old symbol, which JCuda 12 calls.
#undef cuEventElapsedTime
CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
    return cuEventElapsedTime_v2(ms, start, end);
}

CUresult cuEventDestroy(CUevent event) {
    delete (Event*) event;
    return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult rc, const char** name) {
    static thread_local char buf[32];
    snprintf(buf, sizeof buf, "CUresult %d", (int) rc);
    *name = buf;
    return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult rc, const char** text) {
    return cuGetErrorName(rc, text);
}

// ------------------------------------------------------------------ UBSan's reports

// build.sh compiles the kernels with -fsanitize=alignment,float-cast-overflow and no runtime: the
// checks call these (the layouts are those of the sanitizer's data, location first). A
// violation inside a kernel fails its launch as the GPU would fail it.
struct SourceLocation {
    const char* file;
    uint32_t line, column;
};

struct TypeDescriptor {
    uint16_t kind, info;
    char name[1];
};

struct TypeMismatchData {
    SourceLocation location;
    const TypeDescriptor* type;
    unsigned char log_alignment, check_kind;
};

struct FloatCastData {
    SourceLocation location;
    const TypeDescriptor *from, *to;
};

[[noreturn]] static void sanitizer(CUresult code, const SourceLocation& at, const std::string& what) {
    std::string msg = what + " at " + (at.file ? at.file : "?") + ":" + std::to_string(at.line);
    if (emu::current_thread) emu::fault(code, msg.c_str());
    report(msg);
    abort();
}

void __ubsan_handle_type_mismatch_v1_abort(TypeMismatchData* d, uintptr_t p) {
    char msg[200];
    snprintf(msg, sizeof msg, "misaligned access: 0x%lx for %s, which needs %d-byte alignment", (unsigned long) p, d->type->name, 1 << d->log_alignment);
    sanitizer(CUDA_ERROR_MISALIGNED_ADDRESS, d->location, msg);
}

void __ubsan_handle_type_mismatch_v1(TypeMismatchData* d, uintptr_t p) {
    __ubsan_handle_type_mismatch_v1_abort(d, p);
}

void __ubsan_handle_float_cast_overflow_abort(FloatCastData* d, uintptr_t) {
    sanitizer(CUDA_ERROR_LAUNCH_FAILED, d->location, std::string("conversion of a ") + d->from->name + " out of the range of " + d->to->name + " (NaN, infinite or too large)");
}

void __ubsan_handle_float_cast_overflow(FloatCastData* d, uintptr_t v) {
    __ubsan_handle_float_cast_overflow_abort(d, v);
}

}  // extern "C"
