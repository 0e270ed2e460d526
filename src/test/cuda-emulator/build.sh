#!/usr/bin/env bash
# Builds the CPU emulator of the CUDA driver: OUT_DIR/libcuda.so.1 (driver.cpp) and, beside it,
# OUT_DIR/libmagvit4j-kernels.so (every kernels/*.cu compiled for the host), which it opens. The kernels it registers are the .entry names of the PTX
# the main build made (PTX_DIR), so the emulator runs exactly the kernels the jar ships.
#
#   src/test/cuda-emulator/build.sh OUT_DIR PTX_DIR
#
# The Maven build runs it before the tests; the tests load the result through
# -Dmagvit4j.cuda.driver. Without g++, nvcc's cuda.h or the PTX it says so and succeeds, and the
# CUDA tests are skipped with that reason. x86-64 only (driver.cpp switches stacks in assembly).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kernels="$(cd "$here/../../../kernels" && pwd)"
out="${1:?usage: build.sh OUT_DIR PTX_DIR}"
ptx="${2:?usage: build.sh OUT_DIR PTX_DIR}"
lib="$out/libcuda.so.1"

skip() { echo "[cuda-emulator] $1: not built, the CUDA tests will be skipped"; rm -f "$lib"; exit 0; }
command -v g++ >/dev/null 2>&1 || skip "g++ not found"
[ "$(uname -m)" = x86_64 ] || skip "not an x86-64 machine"
ls "$ptx"/*.ptx >/dev/null 2>&1 || skip "no PTX in $ptx (nvcc not found by the main build)"
cuda_include=$(nvcc --dryrun -c -x cu /dev/null -o /dev/null 2>&1 | sed -n 's/.*INCLUDES="-I\([^"]*\)".*/\1/p' | head -n 1 || true)
[ -f "$cuda_include/cuda.h" ] || skip "cuda.h not found beside nvcc"

# Up to date when newer than every source it is made of.
if [ -f "$lib" ] && [ -z "$(find "$here" "$kernels" "$ptx" -newer "$lib" -type f \( -name '*.cu' -o -name '*.cuh' -o -name '*.h' -o -name '*.cpp' -o -name '*.ptx' -o -name build.sh \) | head -n 1)" ]; then
  echo "[cuda-emulator] $lib is up to date"
  exit 0
fi

mkdir -p "$out/obj"
rm -f "$out"/obj/*.o "$out"/obj/tls_anchor.*
common=(-std=c++17 -O2 -g -fPIC -fno-strict-aliasing -I "$here" -I "$kernels")
# The kernels: -DMAGVIT4J_EMULATOR selects the C++ twins of gemm.cuh's PTX; contraction of a*b+c
# into an FMA as nvcc does it by default (where the host has FMA); UBSan's alignment and
# float-to-int checks report to driver.cpp (misaligned vector loads fault on a GPU; out-of-range
# conversions differ); uninitialised locals get a pattern instead of a previous block's leftovers.
kflags=("${common[@]}" -w -DMAGVIT4J_EMULATOR -fno-extern-tls-init -fsanitize=alignment,float-cast-overflow -fno-sanitize-recover=all
        -ftrivial-auto-var-init=pattern -ffp-contract=off)
if grep -qw fma /proc/cpuinfo 2>/dev/null; then kflags+=(-mfma -ffp-contract=fast); fi
# unit NAME.PTX OBJ FLAGS...: the kernel file with a registration for every .entry of its PTX.
unit() {
  local cu="$1" ptx_file="$2" obj="$3"
  shift 3
  {
    echo "#include \"cuda_emulator.h\""
    echo "#include \"$cu\""
    echo "#include \"registry.h\""
    sed -n 's/^\.visible \.entry \([A-Za-z0-9_]*\)(.*/EMU_KERNEL(\1)/p' "$ptx_file"
  } > "${obj%.o}.cpp"
  g++ "${kflags[@]}" "$@" -c "${obj%.o}.cpp" -o "$obj" &
  pids+=($!)
}
mkdir -p "$out/obj-sm_90a"
rm -f "$out"/obj-sm_90a/*.o
pids=()
for cu in "$kernels"/*.cu; do
  name=$(basename "$cu" .cu)
  [ -f "$ptx/$name.ptx" ] || skip "$ptx/$name.ptx is missing"
  unit "$cu" "$ptx/$name.ptx" "$out/obj/$name.o"
  # The sm_90a PTX's host twin (gemm.cuh on wgmma), registered under that target.
  if [ -f "$ptx/$name.sm_90a.ptx" ]; then
    unit "$cu" "$ptx/$name.sm_90a.ptx" "$out/obj-sm_90a/$name.o" -DMAGVIT4J_EMULATOR_SM90A '-DEMU_TARGET="sm_90a"'
  fi
done
g++ "${common[@]}" -Wall -Wno-unused-function -ffp-contract=off -I "$cuda_include" -c "$here/driver.cpp" -o "$out/driver.o" &
pids+=($!)
g++ "${common[@]}" -c "$here/tls_anchor.cpp" -o "$out/tls_anchor.o" &
pids+=($!)
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" -eq 0 ] || { echo "[cuda-emulator] compilation failed (see above)"; exit 1; }

# The driver, and the kernels in libraries of their own, which the driver opens at cuInit: one
# for the compute_80 PTX and one for the sm_90a PTX (the same file names and kernel names built
# differently, so they cannot share one library). The kernels' static __shared__ variables then
# make up each library's whole thread-local block, which the driver can poison before each
# launch. -z defs: a name that resolves nowhere fails here, not as a load error at test time;
# -Bsymbolic: each library binds its own inline functions and templates, never the other's.
g++ -shared -Wl,-z,defs -Wl,-soname,libcuda.so.1 -o "$lib.tmp" "$out/driver.o" -lpthread -ldl
kernels_lib() {
  g++ -shared -Wl,-z,defs -Wl,-Bsymbolic -o "$out/$1.tmp" "$2"/*.o "$out/tls_anchor.o" "$lib.tmp" -lpthread
  mv "$out/$1.tmp" "$out/$1"
}
kernels_lib libmagvit4j-kernels.so "$out/obj"
rm -f "$out/libmagvit4j-kernels-sm_90a.so"
if ls "$out"/obj-sm_90a/*.o >/dev/null 2>&1; then kernels_lib libmagvit4j-kernels-sm_90a.so "$out/obj-sm_90a"; fi
mv "$lib.tmp" "$lib"
count() { cat "$@" 2>/dev/null | grep -c '^EMU_KERNEL' || true; }
echo "[cuda-emulator] built $lib and the kernels' libraries ($(count "$out"/obj/*.cpp) kernels for compute_80, $(count "$out"/obj-sm_90a/*.cpp) for sm_90a)"
