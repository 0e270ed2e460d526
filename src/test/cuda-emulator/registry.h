// How a kernel compiled for the host is found by name and called with cuLaunchKernel's
// parameter array. build.sh appends EMU_KERNEL(name) for every .entry of the kernel file's PTX.
#pragma once
#include <type_traits>
#include <utility>
#include <vector>

namespace emu {

typedef void (*Invoker)(void* fn, void** params);

void register_kernel(const char* name, Invoker invoke, void* fn, std::vector<int> sizes, std::vector<bool> pointers);

// params[i] points at argument i, as cuLaunchKernel's kernelParams do.
template <class... A, size_t... I>
void invoke(void (*f)(A...), void** params, std::index_sequence<I...>) {
    f(*static_cast<A*>(params[I])...);
}

struct Registration {
    template <class... A>
    Registration(const char* name, void (*f)(A...)) {
        register_kernel(
                name, [](void* fn, void** params) { invoke((void (*)(A...)) fn, params, std::index_sequence_for<A...>{}); }, (void*) f,
                {(int) sizeof(A)...}, {std::is_pointer<A>::value...});
    }
};

}  // namespace emu

#define EMU_KERNEL(name) static emu::Registration emu_kernel_##name(#name, name);
