// How a kernel compiled for the host is found by name and called with cuLaunchKernel's
// parameter array. build.sh appends EMU_KERNEL(name) for every .entry of the kernel file's PTX.
// EMU_TARGET: the PTX target the host build stands for ("" or "sm_90a"), set by build.sh.
#pragma once
#ifndef EMU_TARGET
#define EMU_TARGET ""
#endif
#include <type_traits>
#include <utility>
#include <vector>

namespace emu {

typedef void (*Invoker)(void* fn, void** params);
// The device ranges a struct argument carries (see emu::Range), or null for other arguments.
typedef void (*Ranges)(const void* arg, std::vector<Range>& out);

// sizes: each parameter's bytes; alignments: for a pointer parameter the alignment its pointee
// needs (1 for void*), 0 for the others; ranges: per parameter, as above.
void register_kernel(const char* target, const char* name, Invoker invoke, void* fn, std::vector<int> sizes, std::vector<int> alignments,
                     std::vector<Ranges> ranges);

template <class T>
auto ranges_of(int) -> decltype(emu_ranges(std::declval<const T&>(), std::declval<std::vector<Range>&>()), Ranges()) {
    return [](const void* arg, std::vector<Range>& out) { emu_ranges(*(const T*) arg, out); };
}
template <class T>
Ranges ranges_of(long) {
    return nullptr;
}

template <class T>
constexpr int pointee_alignment() {
    if constexpr (!std::is_pointer<T>::value) {
        return 0;
    } else if constexpr (std::is_void<typename std::remove_cv<typename std::remove_pointer<T>::type>::type>::value) {
        return 1;
    } else {
        return alignof(typename std::remove_pointer<T>::type);
    }
}

// params[i] points at argument i, as cuLaunchKernel's kernelParams do.
template <class... A, size_t... I>
void invoke(void (*f)(A...), void** params, std::index_sequence<I...>) {
    f(*static_cast<A*>(params[I])...);
}

struct Registration {
    template <class... A>
    Registration(const char* name, void (*f)(A...)) {
        register_kernel(
                EMU_TARGET, name, [](void* fn, void** params) { invoke((void (*)(A...)) fn, params, std::index_sequence_for<A...>{}); }, (void*) f,
                {(int) sizeof(A)...}, {pointee_alignment<A>()...}, {ranges_of<typename std::decay<A>::type>(0)...});
    }
};

}  // namespace emu

#define EMU_KERNEL(name) static emu::Registration emu_kernel_##name(#name, name);
